"""Message parity: a rewritten send_task publishes what the worker's own apply_async publishes.

For each call the codemod changes, three messages go through kombu's memory broker and are read
back: the reference, the worker task's `apply_async` with the call's arguments (from the worker's
app), then the original and the rewritten call, both from a producer app that never imported the
worker code. The rewritten message must equal the reference in every field that decides delivery
and handling; the original must miss exactly what the task declares, so the test can fail.

How a call is run: its expression is taken from the rewritten file's text and executed with its
receiver bound to the producer app (task name resolved, runtime task arguments replaced by
placeholders). Rebuilding the call from FileResult.changes' `added` would only test Celery; running
the generated text proves the code the codemod writes is valid and has the effect. `added` is
checked to describe that text.
"""

from __future__ import annotations

from collections.abc import Iterator

import celery
import pytest
from celery import Celery

from tests.e2e.support import (
    DEMO,
    OWN,
    Delivery,
    RewrittenCall,
    delivered,
    differing_fields,
    find_task,
    freeze_clock,
    imported_workers,
    rewritten_calls,
    should_differ,
)

pytestmark = [
    pytest.mark.e2e,
    # The test worker declares routing options as task attributes on purpose (deprecated in 5.x).
    pytest.mark.filterwarnings(r"ignore:\s*The '\w+' task attribute is deprecated"),
]

OWN_CALLS = rewritten_calls(OWN)
DEMO_CALLS = rewritten_calls(DEMO) if DEMO.workers.is_dir() else []
# The demo's calls to compare; fewer means the demo or the codemod lost calls.
MIN_DEMO_CALLS = 10

# For each task of tests/e2e/workers, the message fields a plain send_task gets wrong.
OWN_MISSES = {
    "e2e_worker.tasks.record_click": {"ignores_result"},
    "e2e_worker.tasks.snapshot": {"content_type"},
    "e2e_worker.tasks.archive": {"compression"},
    "e2e_worker.tasks.render_report": {"queue", "routing_key"},
    "e2e_worker.tasks.audit": {"queue", "exchange", "routing_key"},
    "e2e_worker.tasks.page_oncall": {"priority"},
    "e2e_worker.tasks.refresh_quote": {"expires", "expiration"},
    "e2e_worker.tasks.ping": {"delivery_mode"},
    # The call's own priority=5 is kept, and apply_async takes it over the declared 3.
    "e2e.bulk_import": {
        "ignores_result",
        "content_type",
        "compression",
        "queue",
        "exchange",
        "routing_key",
        "expires",
        "expiration",
        "delivery_mode",
    },
}


@pytest.fixture(scope="module")
def own_workers() -> Iterator[list[Celery]]:
    with imported_workers(OWN.workers) as apps:
        yield apps


@pytest.fixture(scope="module")
def demo_workers() -> Iterator[list[Celery]]:
    with imported_workers(DEMO.workers) as apps:
        yield apps


def send_three(
    call: RewrittenCall,
    workers: list[Celery],
    producer: Celery,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Delivery, Delivery, Delivery]:
    """(reference, original, rewritten) messages for one call.

    The reference skips apply_async's argument check, so that a call the codemod reports as
    `argument-mismatch` (which send_task publishes all the same) is still compared.
    """
    task = find_task(workers, call.change.task)
    freeze_clock(monkeypatch, task.app)
    monkeypatch.setattr(task, "typing", False)
    reference = delivered(lambda: call.apply_async(task))
    original = delivered(lambda: call.send(producer, "original"))
    rewritten = delivered(lambda: call.send(producer, "rewritten"))
    assert call.change.task not in producer._tasks, (
        "the producer app registered the task; Celery 5.7 would merge its options into "
        "send_task and hide what a producer without the worker code loses"
    )
    assert call.inserted() == dict(call.change.added)
    return reference, original, rewritten


def test_every_own_task_has_a_changed_call() -> None:
    assert sorted(c.change.task for c in OWN_CALLS) == sorted(OWN_MISSES)


@pytest.mark.parametrize("call", OWN_CALLS, ids=lambda c: c.change.task)
def test_rewritten_call_sends_what_apply_async_sends(
    call: RewrittenCall,
    own_workers: list[Celery],
    producer: Celery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, original, rewritten = send_three(call, own_workers, producer, monkeypatch)
    assert rewritten == reference
    assert differing_fields(original, reference) == OWN_MISSES[call.change.task]


def test_ignore_result_header_of_a_plain_call_depends_on_the_producer_version(
    own_workers: list[Celery], producer: Celery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5.1 to 5.6 send `ignore_result: False` (a 5.6.3+ worker then stores the result), 5.7 None."""
    (call,) = [c for c in OWN_CALLS if c.change.task == "e2e_worker.tasks.record_click"]
    reference, original, rewritten = send_three(call, own_workers, producer, monkeypatch)
    assert original.ignore_result_header is (None if celery.VERSION >= (5, 7) else False)
    assert reference.ignore_result_header is True
    assert rewritten.ignore_result_header is True


def test_demo_has_calls_to_compare() -> None:
    assert DEMO.workers.is_dir(), f"{DEMO.workers} is missing"
    assert len(DEMO_CALLS) >= MIN_DEMO_CALLS, [c.id for c in DEMO_CALLS]


@pytest.mark.parametrize("call", DEMO_CALLS, ids=lambda c: c.id)
def test_demo_rewritten_call_sends_what_apply_async_sends(
    call: RewrittenCall,
    demo_workers: list[Celery],
    producer: Celery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, original, rewritten = send_three(call, demo_workers, producer, monkeypatch)
    assert rewritten == reference
    if should_differ(call.change.added):
        assert differing_fields(original, reference)
