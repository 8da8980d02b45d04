"""What the rewrite saves a producer whose result backend is a real Redis: connections and calls.

The call is the storefront's `send_task` of a task declared with `ignore_result=True`, run as
written in the original and in the rewritten file (see test_message_parity.py for how).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis

from tests.e2e.support import (
    OWN,
    RedisServer,
    RewrittenCall,
    Variant,
    drain,
    producer_app,
    rewritten_calls,
    settled,
)

pytestmark = pytest.mark.e2e

CALLS = 20
(CLICK,) = [c for c in rewritten_calls(OWN) if c.change.task == "e2e_worker.tasks.record_click"]
# Fail fast when the backend is unreachable: Celery's default is 20 reconnects 1 s apart.
FAST_FAILING_BACKEND = {
    "redis_socket_connect_timeout": 0.5,
    "redis_socket_timeout": 0.5,
    "result_backend_transport_options": {
        "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.1}
    },
}


@dataclass(frozen=True)
class Observed:
    """Pub/sub channels and client connections (id, last command, subscriptions) on the server."""

    channels: frozenset[str]
    clients: frozenset[tuple[str, str, str]]

    def __sub__(self, other: Observed) -> Observed:
        others = {id_ for id_, _, _ in other.clients}
        return Observed(
            self.channels - other.channels,
            frozenset(c for c in self.clients if c[0] not in others),
        )


def observe(observer: redis.Redis) -> Observed:
    return Observed(
        frozenset(observer.pubsub_channels()),
        frozenset((c["id"], c["cmd"], c["sub"]) for c in observer.client_list()),
    )


def send_and_observe(
    server: RedisServer, call: RewrittenCall, variant: Variant
) -> tuple[Observed, int, set[str]]:
    """Send CALLS calls from a fresh producer app and look at the server while the results live.

    Returns (the producer's channels and connections, messages published, the results' keys).
    """
    observer = server.client()
    before = observe(observer)
    drain()
    with producer_app(result_backend=server.url, **FAST_FAILING_BACKEND) as app:
        results = [call.send(app, variant) for _ in range(CALLS)]
        seen = settled(lambda: observe(observer) - before)
        keys = {app.backend.get_key_for_task(r.id).decode() for r in results}
        del results
    observer.close()
    return seen, len(drain()), keys


def test_plain_call_subscribes_to_every_result(redis_server: RedisServer) -> None:
    seen, published, keys = send_and_observe(redis_server, CLICK, "original")
    assert published == CALLS
    assert seen.channels == keys
    # One pub/sub connection for the process, holding a subscription per call.
    assert [(cmd, sub) for _, cmd, sub in seen.clients] == [("subscribe", str(CALLS))]


def test_rewritten_call_never_touches_the_backend(redis_server: RedisServer) -> None:
    seen, published, _ = send_and_observe(redis_server, CLICK, "rewritten")
    assert published == CALLS
    assert seen == Observed(frozenset(), frozenset())


def test_backend_down_plain_call_raises_and_publishes_nothing(dead_port: int) -> None:
    drain()
    backend = f"redis://127.0.0.1:{dead_port}/0"
    with (
        producer_app(result_backend=backend, **FAST_FAILING_BACKEND) as app,
        pytest.raises((RuntimeError, redis.ConnectionError)),
    ):
        CLICK.send(app, "original")
    assert drain() == []


def test_backend_down_rewritten_call_publishes(dead_port: int) -> None:
    drain()
    backend = f"redis://127.0.0.1:{dead_port}/0"
    with producer_app(result_backend=backend, **FAST_FAILING_BACKEND) as app:
        result = CLICK.send(app, "rewritten")
    (message,) = drain()
    assert message.task == "e2e_worker.tasks.record_click"
    assert message.ignores_result
    assert result.ignored
