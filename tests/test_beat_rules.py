"""Beat entries: options everywhere outside tests, argument checks only where the entry is
complete (a real schedule position, or args/kwargs spelled out)."""

from __future__ import annotations

from textwrap import dedent

import pytest

from codemods.rewrite import rewrite_source
from codemods.schedules import positions
from tests.tools import index_modules

WORKER = """\
    from celery import Celery
    app = Celery("proj")

    @app.task(queue="tenants")
    def per_tenant(tenant_id):
        pass
"""
INDEX, _ = index_modules({"proj.tasks": WORKER})
ENTRY = '{"task": "proj.tasks.per_tenant", "schedule": 60}'


def run(source: str, path: str = "proj/schedule.py") -> tuple[str, list[str]]:
    result = rewrite_source(dedent(source), INDEX, path=path, module="proj.schedule")
    codes = [d.code for d in result.diagnostics]
    return result.new_source or dedent(source), codes


def test_templates_get_options_but_no_argument_check() -> None:
    """A list of templates that a scheduler expands at run time, adding the tenant's kwargs."""
    source = f"""\
        TEMPLATES = [
            {ENTRY},
            {{"task": "proj.tasks.per_tenant", "schedule": 3600}},
        ]
        """
    new, codes = run(source)
    assert codes == []
    assert new.count('"options": {"queue": "tenants"}') == 2


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(f"beat_schedule = {{'a': {ENTRY}}}", id="beat_schedule"),
        pytest.param(f"CELERY_BEAT_SCHEDULE = {{'a': {ENTRY}}}", id="django setting"),
        pytest.param(f"CELERYBEAT_SCHEDULE = dict(a={ENTRY})", id="old name, dict()"),
        pytest.param(f"app.conf.beat_schedule = {{'a': {ENTRY}}}", id="app.conf"),
        pytest.param(f"app.conf.update(beat_schedule={{'a': {ENTRY}}})", id="conf.update"),
        pytest.param(f"app.conf.beat_schedule['a'] = {ENTRY}", id="item"),
        pytest.param(f"app.conf.beat_schedule.update({{'a': {ENTRY}}})", id="schedule update"),
        pytest.param(f"class Config:\n    beat_schedule = {{'a': {ENTRY}}}", id="config class"),
        pytest.param(
            'app.add_periodic_task(60, signature("proj.tasks.per_tenant"))', id="add_periodic_task"
        ),
        pytest.param(
            'TEMPLATES = [{"task": "proj.tasks.per_tenant", "schedule": 1, "kwargs": {}}]',
            id="template with kwargs spelled out",
        ),
    ],
)
def test_complete_entries_are_checked(source: str) -> None:
    source = f"from celery import signature\nfrom proj.tasks import app\n{source}\n"
    _, codes = run(source)
    assert codes == ["argument-mismatch"]


def test_signature_completed_at_run_time_is_not_missing_arguments() -> None:
    """A signature in a chain, a link or a partial gets more arguments when it runs."""
    source = """\
        from celery import chain, signature
        chain(signature("proj.tasks.per_tenant"), signature("proj.tasks.per_tenant"))
        signature("proj.tasks.per_tenant", kwargs={"nope": 1})
        """
    _, codes = run(source)
    assert codes == ["argument-mismatch"]  # only the keyword the task does not take


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(f"assert schedule() == [{ENTRY}]", id="assert"),
        pytest.param(f"assert {ENTRY} in schedule(), 'missing'", id="assert in"),
        pytest.param(f"ok = build() == {{'a': {ENTRY}}}", id="comparison"),
    ],
)
def test_expectations_are_not_edited(source: str) -> None:
    new, codes = run(source + "\n", path="proj/checks.py")
    assert new == source + "\n"
    assert codes == []


@pytest.mark.parametrize(
    "path",
    ["tests/test_beat.py", "proj/tests/helpers.py", "proj/test_beat.py", "proj/beat_test.py",
     "conftest.py", "test/schedule.py"],
)  # fmt: skip
def test_entries_in_test_files_are_not_edited(path: str) -> None:
    source = f"beat_schedule = {{'a': {ENTRY}}}\n"
    new, codes = run(source, path=path)
    assert new == source
    assert codes == ["test-file"]


def test_positions_are_found_in_one_walk() -> None:
    import ast

    tree = ast.parse(
        dedent(
            f"""\
            CELERY_BEAT_SCHEDULE = {{"a": {ENTRY}}}
            TEMPLATES = [{ENTRY}]
            assert TEMPLATES == [{ENTRY}]
            """
        )
    )
    found = positions(tree)
    dicts = [n for n in ast.walk(tree) if isinstance(n, ast.Dict) and n.keys and n.keys[0]]
    entries = [d for d in dicts if getattr(d.keys[0], "value", None) == "task"]
    assert [id(d) in found.scheduled for d in entries] == [True, False, False]
    assert [id(d) in found.compared for d in entries] == [False, False, True]


def test_a_dict_whose_task_is_data_is_no_entry() -> None:
    source = 'job = {"task": {"kind": "sync"}, "schedule": {"minute": "0"}}\n'
    new, codes = run(source)
    assert new == source
    assert codes == []
