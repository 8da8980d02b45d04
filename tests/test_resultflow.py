"""The result flow: where a task's result goes, and `fix` never adding ignore_result where the
result can be read (`.get()` on a result marked ignored returns None at once)."""

from __future__ import annotations

import ast
from textwrap import dedent

import pytest

from codemods.model import ResultUse
from codemods.resultflow import ResultFlow, may_read, scan_results
from codemods.rewrite import rewrite_source
from tests import tools

INDEX = tools.make_index(
    """
    from celery import Celery
    app = Celery("proj")

    @app.task(ignore_result=True)
    def add(x, y):
        return x + y
    """
)
SEND = 'app.send_task("proj.tasks.add", args=[1, 2])'


def rewrite(source: str) -> tuple[str, list[str]]:
    result = rewrite_source(dedent(source), INDEX, path="producer.py")
    assert not [d for d in result.diagnostics if d.code == "unsafe-rewrite"]
    return result.new_source or dedent(source), [d.code for d in result.diagnostics]


# Each form once made `fix` add ignore_result=True to a call whose result is read.
READ_FORMS = {
    "walrus": f"""
        def walrus():
            if (r := {SEND}):
                return r.get(timeout=10)
        """,
    "two targets": f"""
        def two_targets():
            r = last = {SEND}
            return r.get(timeout=10)
        """,
    "the other of two targets": f"""
        def two_targets():
            last = r = {SEND}
            return r.get(timeout=10)
        """,
    "conditional expression": f"""
        def conditional(flag):
            r = {SEND} if flag else None
            return r.get(timeout=10)
        """,
    "boolean expression": f"""
        def fallback(previous):
            r = previous or {SEND}
            return r.get(timeout=10)
        """,
    "closure": f"""
        def closure():
            r = {SEND}
            def wait():
                return r.get(timeout=10)
            return wait
        """,
    "lambda": f"""
        def later():
            r = {SEND}
            wait = lambda: r.get(timeout=10)
            wait()
        """,
    "nonlocal": f"""
        def outer():
            r = None
            def start():
                nonlocal r
                r = {SEND}
            start()
            return r.get()
        """,
    "alias": f"""
        def alias():
            r = {SEND}
            result = r
            return result.get(timeout=10)
        """,
    "maybe_throw": f"""
        def meta():
            r = {SEND}
            r.maybe_throw()
        """,
    "date_done": f"""
        def meta():
            r = {SEND}
            print(r.date_done)
        """,
    "args": f"""
        def meta():
            r = {SEND}
            log(r.args)
        """,
    "children": f"""
        def meta():
            r = {SEND}
            for child in r.children:
                pass
        """,
    "re-bound on one branch": f"""
        def rebound(urgent):
            r = {SEND}
            if urgent:
                r = app.send_task("proj.tasks.add", args=[3, 4])
            return r.get(timeout=10)
        """,
    "module-level result read in a function": f"""
        module_level = {SEND}

        def later():
            return module_level.get()
        """,
    "global": f"""
        def start():
            global pending
            pending = {SEND}

        def finish():
            print(pending.result)
        """,
    "a result made from its id": f"""
        from celery.result import AsyncResult

        def by_id():
            task_id = {SEND}.id
            return AsyncResult(task_id).get()
        """,
    "iterated": f"""
        def each():
            for part in {SEND}:
                pass
        """,
    "awaited": f"""
        async def wait():
            return await {SEND}
        """,
}


@pytest.mark.parametrize("source", READ_FORMS.values(), ids=READ_FORMS.keys())
def test_a_read_result_keeps_ignore_result_out(source: str) -> None:
    after, codes = rewrite(source)
    assert "ignore_result" not in after
    assert "result-ignored" in codes


DROPPED_FORMS = {
    "statement": f"""
        def f():
            {SEND}
        """,
    "bound, never read": f"""
        def f():
            r = {SEND}
        """,
    "id logged": f"""
        def f(logger):
            r = {SEND}
            logger.info("queued %s", r.id)
        """,
    "printed": f"""
        def f():
            print({SEND})
        """,
    "compared": f"""
        def f(other):
            if {SEND} == other:
                pass
        """,
    "revoked": f"""
        def f():
            r = {SEND}
            r.revoke()
        """,
    "in an f-string that is logged": f"""
        def f(logger):
            r = {SEND}
            logger.info(f"queued {{r}}")
        """,
}


@pytest.mark.parametrize("source", DROPPED_FORMS.values(), ids=DROPPED_FORMS.keys())
def test_a_dropped_result_gets_ignore_result(source: str) -> None:
    after, codes = rewrite(source)
    assert "ignore_result=True" in after
    assert codes == []


def test_bindings_are_followed_without_regard_to_order() -> None:
    after, _ = rewrite(
        f"""
        def f():
            r = {SEND}
            r = compute()
            return r
        """
    )
    # Bindings are followed without regard to order: `return r` may return the result.
    assert "ignore_result" not in after


def test_a_local_in_another_function_is_another_name() -> None:
    after, codes = rewrite(
        f"""
        def f():
            r = {SEND}

        def g(r):
            return r.get()
        """
    )
    assert "ignore_result=True" in after
    assert codes == []


def test_a_class_attribute_is_reachable_from_outside() -> None:
    after, _ = rewrite(f"class Jobs:\n    pending = {SEND}\n")
    assert "ignore_result" not in after


SIGNATURE = 'signature("proj.tasks.add", args=(1, 2))'


@pytest.mark.parametrize(
    "source",
    [
        f"from celery import chord, signature\nchord([{SIGNATURE}])(callback)\n",
        f"from celery import chord, signature\nchord(header=[{SIGNATURE}], body=cb).delay()\n",
        f"from celery import group, signature\n(group({SIGNATURE}) | cb).delay()\n",
        f"from celery import signature\ndef f():\n    return {SIGNATURE}.delay().get()\n",
        f"from celery import signature\ndef f():\n    s = {SIGNATURE}\n    r = s.delay()\n    r.wait()\n",
        f"from celery import signature\ndef f():\n    return {SIGNATURE}\n",
    ],
    ids=["chord header", "chord header keyword", "group piped into a task", "applied and read",
         "bound, applied and read", "returned"],
)  # fmt: skip
def test_a_signature_whose_result_may_be_read_keeps_ignore_result_out(source: str) -> None:
    after, codes = rewrite(source)
    assert "ignore_result" not in after
    assert "result-ignored" in codes


@pytest.mark.parametrize(
    "source",
    [
        f"from celery import signature\ndef f():\n    {SIGNATURE}.delay()\n",
        f"from celery import chain, signature\ndef f():\n    chain({SIGNATURE}, cb).delay()\n",
        f"from celery import signature\napp.add_periodic_task(60, {SIGNATURE})\n",
    ],
    ids=["applied, result dropped", "chain, result dropped", "periodic task"],
)
def test_a_signature_whose_result_is_dropped_gets_ignore_result(source: str) -> None:
    after, codes = rewrite(source)
    assert "ignore_result=True" in after
    assert codes == []


def uses(source: str, kind: str = "result") -> set[tuple[int, str, str]]:
    """(line, kind, detail) of the uses of the first call to `start(...)` in `source`."""
    tree = ast.parse(dedent(source))
    flow = ResultFlow(tree, "producer")
    call = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "start"
    )
    found = flow.result_uses(call) if kind == "result" else flow.signature_uses(call)
    return {(u.line, u.kind, u.detail) for u in found}


def test_uses_say_where_and_how() -> None:
    assert uses(
        """
        def view():
            r = start()
            if r.ready():
                return {"id": r.id}
            r.forget()
        """
    ) == {(4, "read", "ready"), (5, "id-escapes", "collected"), (6, "discarded", "forget")}


def test_an_id_handed_to_a_client_escapes() -> None:
    assert uses("def view():\n    return JsonResponse({'task': start().id})\n") == {
        (2, "id-escapes", "collected")
    }


def test_an_id_polled_later_is_a_read_by_id() -> None:
    assert uses(
        """
        def poll(app):
            task_id = start().task_id
            return app.AsyncResult(task_id).state
        """
    ) == {(4, "read-by-id", "state")}


def test_an_alias_cycle_terminates() -> None:
    found = uses(
        """
        def loop():
            a = start()
            while True:
                b = a
                a = b
            b.get()
        """
    )
    assert (7, "read", "get") in found


def test_may_read_ignores_eager_and_id_uses() -> None:
    assert not may_read([ResultUse(1, "read", "get", eager=True), ResultUse(2, "id-escapes")])
    assert may_read([ResultUse(1, "result-escapes", "returned")])


def test_a_callback_in_a_link_list_is_read_only_through_its_parent() -> None:
    dropped = "def f():\n    first.apply_async(link=[start()])\n"
    assert {k for _, k, _ in uses(dropped, "signature")} == {"discarded"}
    collected = "def f():\n    r = first.apply_async(link=[start()])\n    return r.collect()\n"
    assert (3, "canvas-read", "collect") in uses(collected, "signature")


def test_an_errback_given_to_on_error_follows_its_canvas() -> None:
    source = (
        "from celery import chord\ndef f():\n    chord([a.s()], b.s()).on_error(start()).delay()\n"
    )
    assert {k for _, k, _ in uses(source, "signature")} == {"discarded"}


@pytest.mark.parametrize(
    ("source", "eager"),
    [
        ("from proj.celery import app\napp.conf.task_always_eager = True\n", True),
        ("CELERY_TASK_ALWAYS_EAGER = True\n", True),
        (
            "import pytest\n@pytest.fixture(autouse=True)\ndef eager(settings):\n"
            "    settings.CELERY_TASK_ALWAYS_EAGER = True\n",
            True,
        ),
        (
            "import pytest\n@pytest.fixture\ndef eager(settings):\n"
            "    settings.CELERY_TASK_ALWAYS_EAGER = True\n",
            False,
        ),
        ("@override_settings(CELERY_TASK_ALWAYS_EAGER=True)\ndef test_one():\n    pass\n", False),
        ("app.conf.task_always_eager = False\n", False),
    ],
    ids=["module level", "django setting", "autouse fixture", "fixture a test may not use",
         "one test's decorator", "set to False"],
)  # fmt: skip
def test_eager_only_when_it_holds_for_the_whole_module(source: str, eager: bool) -> None:
    assert scan_results(ast.parse(source)).eager is eager


def test_a_run_time_lookup_of_a_task_is_recorded() -> None:
    facts = scan_results(
        ast.parse(
            "import importlib\nfrom proj import tasks\nfrom proj.celery import app\n"
            "def f(name):\n"
            "    app.tasks[name].delay()\n"
            "    getattr(tasks, name).delay()\n"
            "    importlib.import_module(name)\n"
            "    app.tasks['proj.tasks.add'].delay()\n"
            "    getattr(tasks, 'add')\n"
        ),
        module="web",
    )
    assert facts.lookups == ((5, ""), (6, "proj.tasks"), (7, ""))


def test_a_start_run_on_commit_drops_its_result() -> None:
    assert uses(
        "from django.db import transaction\n"
        "def save(x):\n    transaction.on_commit(lambda: start(x))\n"
    ) == {(3, "discarded", "run on commit")}
    # A project's own wrapper may return the lambda's value: it is passed on.
    assert uses("def save(x):\n    when_done(lambda: start(x))\n") == {
        (2, "result-escapes", "returned by a lambda")
    }
