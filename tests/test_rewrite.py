"""Before/after pairs on the pure rewrite function."""

from __future__ import annotations

from functools import partial

import pytest

from codemods.model import Severity
from tests import tools

INDEX = tools.make_index(
    """
    from celery import Celery, shared_task

    app = Celery("proj")
    FAST = "fast"

    @app.task(ignore_result=True, queue=FAST)
    def add(x, y=0):
        pass

    @shared_task(name="mail.send", serializer="pickle", priority=5, expires=60, acks_late=True)
    def send(to, *, subject):
        pass

    @app.task(ignore_result=False, compression="zlib", time_limit=10)
    def keep(*args, **kwargs):
        pass

    @app.task
    def plain():
        pass
    """
)
check_transformed = partial(tools.check_transformed, index=INDEX)
check_noop = partial(tools.check_noop, index=INDEX)


def test_one_line_call_stays_one_line() -> None:
    check_transformed(
        'app.send_task("proj.tasks.add", args=[1, 2])\n',
        'app.send_task("proj.tasks.add", args=[1, 2], ignore_result=True, queue="fast")\n',
    )


def test_options_follow_the_parity_order_and_skip_worker_only_settings() -> None:
    check_transformed(
        'app.send_task("mail.send", args=["a"], kwargs={"subject": "s"})\n',
        'app.send_task("mail.send", args=["a"], kwargs={"subject": "s"}, serializer="pickle", '
        "priority=5, expires=60)\n",
    )


def test_ignore_result_false_and_time_limit_are_not_copied() -> None:
    check_transformed(
        'app.send_task("proj.tasks.keep")\n',
        'app.send_task("proj.tasks.keep", compression="zlib")\n',
    )


def test_options_list_chooses_what_is_copied() -> None:
    tools.check_transformed(
        'app.send_task("proj.tasks.keep")\n',
        'app.send_task("proj.tasks.keep", time_limit=10)\n',
        INDEX,
        options=("time_limit",),
    )


def test_multi_line_call_gets_one_argument_per_line_with_trailing_comma() -> None:
    check_transformed(
        """\
        app.send_task(
            "proj.tasks.add",
            args=[1],  # the numbers
        )
        """,
        """\
        app.send_task(
            "proj.tasks.add",
            args=[1],  # the numbers
            ignore_result=True,
            queue="fast",
        )
        """,
    )


def test_multi_line_call_without_trailing_comma_keeps_its_comment() -> None:
    check_transformed(
        """\
        app.send_task(
            "proj.tasks.add",
            args=[1]  # the numbers
        )
        """,
        """\
        app.send_task(
            "proj.tasks.add",
            args=[1],  # the numbers
            ignore_result=True,
            queue="fast"
        )
        """,
    )


def test_hanging_indent_is_followed() -> None:
    check_transformed(
        """\
        def f():
            app.send_task("proj.tasks.add",
                          args=[1])
        """,
        """\
        def f():
            app.send_task("proj.tasks.add",
                          args=[1],
                          ignore_result=True,
                          queue="fast")
        """,
    )


def test_single_quotes_are_followed() -> None:
    check_transformed(
        "app.send_task('proj.tasks.add', args=[1])\n",
        "app.send_task('proj.tasks.add', args=[1], ignore_result=True, queue='fast')\n",
    )


@pytest.mark.parametrize(
    "receiver",
    ["app", "celery_app", "current_app", "self.app", "get_app()", "registry['main']"],
)
def test_any_receiver(receiver: str) -> None:
    check_transformed(
        f'{receiver}.send_task("proj.tasks.add", args=[1])\n',
        f'{receiver}.send_task("proj.tasks.add", args=[1], ignore_result=True, queue="fast")\n',
    )


def test_name_from_module_constant() -> None:
    check_transformed(
        'ADD = "proj.tasks.add"\napp.send_task(ADD, args=[1])\n',
        'ADD = "proj.tasks.add"\napp.send_task(ADD, args=[1], ignore_result=True, queue="fast")\n',
    )


def test_name_keyword() -> None:
    check_transformed(
        'app.send_task(name="proj.tasks.add", args=[1])\n',
        'app.send_task(name="proj.tasks.add", args=[1], ignore_result=True, queue="fast")\n',
    )


def test_constant_shadowed_by_a_parameter_is_dynamic() -> None:
    result = check_noop(
        """\
        ADD = "proj.tasks.add"
        def f(ADD):
            app.send_task(ADD, args=[1])
        """
    )
    assert tools.codes(result) == [(3, "dynamic-name")]


def test_rebound_constant_has_its_last_value() -> None:
    result = check_noop('ADD = "proj.tasks.add"\nADD = "x"\napp.send_task(ADD, args=[1])\n')
    assert [d.message for d in result.diagnostics] == ["no task named 'x'"]


def test_existing_arguments_are_never_changed_and_overrides_are_reported() -> None:
    result = check_transformed(
        'app.send_task("proj.tasks.add", args=[1], queue="slow")\n',
        'app.send_task("proj.tasks.add", args=[1], queue="slow", ignore_result=True)\n',
    )
    assert [(d.code, d.severity) for d in result.diagnostics] == [
        ("explicit-override", Severity.INFO)
    ]


def test_positional_expires_counts_as_given() -> None:
    # send_task(name, args, kwargs, countdown, eta, task_id, producer, connection, router,
    #           result_cls, expires): a keyword expires= would be given twice.
    source = 'app.send_task("mail.send", ["a"], {"subject": "s"}, 0, None, None, None, None, None, None, 5)\n'
    result = check_transformed(source, source.replace("5)", '5, serializer="pickle", priority=5)'))
    assert tools.codes(result) == [(1, "explicit-override")]


def test_splat_is_left_alone() -> None:
    result = check_noop('app.send_task("proj.tasks.add", args=[1], **options)\n')
    assert tools.codes(result) == [(1, "splat-options")]


def test_already_correct_call_is_untouched() -> None:
    result = check_noop(
        'app.send_task("proj.tasks.add", args=[1], ignore_result=True, queue="fast")\n'
    )
    assert result.diagnostics == ()


def test_unknown_task_suggests_close_names() -> None:
    result = check_noop('app.send_task("proj.tasks.ad", args=[1])\napp.send_task("tasks.add")\n')
    assert [d.message for d in result.diagnostics] == [
        "no task named 'proj.tasks.ad'; did you mean 'proj.tasks.add'?",
        "no task named 'tasks.add'; did you mean 'proj.tasks.add'?",
    ]


def test_celery_builtin_tasks_are_never_unknown() -> None:
    result = check_noop(
        'app.send_task("celery.backend_cleanup")\napp.send_task("celery.chord_unlock")\n'
    )
    assert result.diagnostics == ()


@pytest.mark.parametrize(
    "call",
    [
        'app.send_task(f"proj.tasks.{name}")',
        "app.send_task(name)",
        "app.send_task(get_name())",
        'app.send_task("proj.tasks." + suffix)',
    ],
)
def test_dynamic_names_are_reported(call: str) -> None:
    result = check_noop(call + "\n")
    assert tools.codes(result) == [(1, "dynamic-name")]


def test_opt_out_comment_skips_everything() -> None:
    result = check_noop('app.send_task("proj.tasks.nope")  # celery-codemod: ignore\n')
    assert result.diagnostics == ()


def test_opt_out_comment_names_options_and_codes() -> None:
    result = check_transformed(
        'app.send_task("proj.tasks.add", args=[1], queue="x")  # celery-codemod: ignore[queue, explicit-override]\n',
        'app.send_task("proj.tasks.add", args=[1], queue="x", ignore_result=True)  # celery-codemod: ignore[queue, explicit-override]\n',
    )
    assert result.diagnostics == ()


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (
            'app.send_task("proj.tasks.add", args=[1, 2, 3])',
            "3 positional arguments given, the task takes at most 2",
        ),
        (
            'app.send_task("proj.tasks.add", args=[1], kwargs={"z": 1})',
            "unexpected keyword argument 'z'",
        ),
        (
            'app.send_task("proj.tasks.add", args=[1], kwargs={"x": 1})',
            "multiple values for argument 'x'",
        ),
        ('app.send_task("proj.tasks.add")', "missing required argument 'x'"),
        ('app.send_task("mail.send", args=["a"])', "missing required argument 'subject'"),
        (
            'app.send_task("proj.tasks.add", [1, 2, 3])',
            "3 positional arguments given, the task takes at most 2",
        ),
    ],
)
def test_argument_mismatch(call: str, problem: str) -> None:
    result = tools.rewrite_source(call + "\n", INDEX, path="p.py")
    mismatches = [d for d in result.diagnostics if d.code == "argument-mismatch"]
    assert [d.message.split(": ", 1)[1] for d in mismatches] == [problem]
    assert mismatches[0].severity is Severity.ERROR


@pytest.mark.parametrize(
    "call",
    [
        'app.send_task("proj.tasks.keep", args=[1, 2, 3], kwargs={"any": 1})',
        'app.send_task("proj.tasks.add", args=make_args())',
        'app.send_task("proj.tasks.add", args=[1], kwargs=extra)',
        'app.send_task("proj.tasks.add", args=(1,), kwargs=dict(y=2))',
    ],
)
def test_arguments_that_fit_or_cannot_be_known_are_not_reported(call: str) -> None:
    result = tools.rewrite_source(call + "\n", INDEX, path="p.py")
    assert [d for d in result.diagnostics if d.code == "argument-mismatch"] == []


def test_parse_error_is_reported_not_raised() -> None:
    result = tools.rewrite_source("def f(:\n", INDEX, path="p.py")
    assert tools.codes(result) == [(1, "parse-error")]


def test_nested_calls_are_each_rewritten() -> None:
    check_transformed(
        'app.send_task("proj.tasks.add", args=[app.send_task("proj.tasks.add", args=[1]).id])\n',
        'app.send_task("proj.tasks.add", args=[app.send_task("proj.tasks.add", args=[1], '
        'ignore_result=True, queue="fast").id], ignore_result=True, queue="fast")\n',
    )


def test_other_send_task_functions_are_not_calls() -> None:
    # A plain function named send_task is not Celery's.
    result = check_noop('send_task("proj.tasks.add")\n')
    assert result.diagnostics == ()
