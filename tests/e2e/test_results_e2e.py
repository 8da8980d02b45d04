"""`results --write` then `fix --write`, proved with real Celery, a real redis-server and a real
worker (`celery.contrib.testing.worker.start_worker`: a worker consuming from redis in a thread).

The shop project (fixtures/results-e2e) starts tasks by import and by name, runs a chain of
tasks whose result nobody reads, waits for a chord, and has a test that reads a task's result.
After the two rewrites: the calls to the unread tasks make no SUBSCRIBE on the result backend and
the worker stores no `celery-task-meta-*` key for them; the chain still passes its values along
(they travel in messages); the chord, whose header the tool left alone, still completes; the task
whose result a test reads still returns it. The same run over the original project shows each
measure would catch the difference.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis
from celery import _state as celery_state
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish, task_postrun

from tests.conftest import FIXTURES, git, init_repo, run_cli
from tests.e2e.support import RedisServer, settled

pytestmark = pytest.mark.e2e

PROJECT = FIXTURES / "results-e2e"
BROKER_DB, BACKEND_DB = 2, 3
UNREAD = {
    "shop.tasks.notify",
    "shop.tasks.notify_by_name",
    "shop.tasks.add_one",
    "shop.tasks.record",
}


@dataclass
class Observed:
    """What one run of the shop did: messages published, tasks the worker finished."""

    published: dict[str, str] = field(default_factory=dict)  # task id -> task name
    finished: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self, names: set[str]) -> set[str]:
        with self.lock:
            return {i for i, n in self.published.items() if n in names}

    def wait_finished(self, ids: set[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if ids <= self.finished:
                    return
            time.sleep(0.05)
        raise AssertionError(f"the worker did not finish {ids - self.finished}")


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop after `results --write` and `fix --write`, run through the CLI in a git checkout."""
    work = tmp_path_factory.mktemp("shop") / "work"
    shutil.copytree(PROJECT, work)
    init_repo(work)
    with _cwd(work):
        verdicts = json.loads(run_cli("results", ".", "--format", "json").stdout)
        by_name = {t["name"]: t["verdict"] for t in verdicts["tasks"]}
        assert by_name == {
            **dict.fromkeys(UNREAD, "unread"),
            "shop.tasks.part": "read",  # a chord header
            "shop.tasks.total": "read",  # the chord's result is waited for
            "shop.tasks.compute": "read",  # a test reads it through a worker
        }
        assert run_cli("results", ".", "--write").exit_code == 0
        git(work, "commit", "-q", "-am", "results --write")
        fixed = run_cli("fix", ".", "--write")
        assert fixed.exit_code == 0, fixed.stderr
    producer = (work / "shop" / "producer.py").read_text()
    assert "args=[user_id], ignore_result=True)" in producer
    return work


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextmanager
def shop(tree: Path, server: RedisServer) -> Iterator[tuple[ModuleType, Observed]]:
    """Import the shop from `tree`, point it at redis, start a real worker; yield the producer
    module and what was observed. The shop's modules are forgotten afterwards."""
    if any(name.split(".")[0] == "shop" for name in sys.modules):
        raise AssertionError("a shop package is already imported")
    for db in (BROKER_DB, BACKEND_DB):
        redis.Redis(host="127.0.0.1", port=server.port, db=db).flushdb()
    observed = Observed()

    def on_publish(
        sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if headers is not None and sender is not None:
            with observed.lock:
                observed.published[headers["id"]] = sender

    def on_finish(task_id: str | None = None, **_: Any) -> None:
        if task_id is not None:
            with observed.lock:
                observed.finished.add(task_id)

    before_task_publish.connect(on_publish, weak=False)
    task_postrun.connect(on_finish, weak=False)
    # `@app.task` tasks are shared: Celery registers them with every app finalized later, so
    # the next run's app would get this run's functions unless they are forgotten.
    finalizers = set(celery_state._on_app_finalizers)
    sys.path.insert(0, str(tree))
    try:
        celery_module = importlib.import_module("shop.celery")
        app = celery_module.app
        app.conf.update(
            broker_url=f"redis://127.0.0.1:{server.port}/{BROKER_DB}",
            result_backend=f"redis://127.0.0.1:{server.port}/{BACKEND_DB}",
            broker_connection_retry_on_startup=True,
        )
        producer = importlib.import_module("shop.producer")
        try:
            with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
                yield producer, observed
        finally:
            _close(app)
    finally:
        before_task_publish.disconnect(on_publish)
        task_postrun.disconnect(on_finish)
        sys.path.remove(str(tree))
        celery_state._on_app_finalizers.intersection_update(finalizers)
        for name in [n for n in sys.modules if n.split(".")[0] == "shop"]:
            del sys.modules[name]


def _close(app: Any) -> None:
    """Drop the app's pub/sub connection while the server is up: a result collected later would
    otherwise unsubscribe through it and retry for 20 s once the server is gone."""
    gc.collect()
    consumer = getattr(app.backend, "result_consumer", None)
    if consumer is not None and consumer._pubsub is not None:
        consumer.stop()
        consumer._pubsub = None
        consumer.subscribed_to.clear()
    app.backend.client.connection_pool.disconnect()
    app.close()


def subscribes(server: RedisServer) -> int:
    """SUBSCRIBE commands the server has run so far."""
    stats = server.client().info("commandstats")
    return int(stats.get("cmdstat_subscribe", {}).get("calls", 0))


def stored(server: RedisServer, ids: set[str]) -> set[str]:
    backend = redis.Redis(host="127.0.0.1", port=server.port, db=BACKEND_DB)
    return {i for i in ids if backend.exists(f"celery-task-meta-{i}")}


def fire_and_forget(producer: ModuleType, observed: Observed, server: RedisServer) -> int:
    """Start the unread tasks as the shop does; the SUBSCRIBEs those calls made."""
    before = settled(lambda: subscribes(server))
    producer.on_signup(1)
    producer.on_signup_by_name(2)
    producer.pipeline(1)
    made = settled(lambda: subscribes(server)) - before
    marker = redis.Redis(host="127.0.0.1", port=server.port, db=BROKER_DB)
    deadline = time.monotonic() + 30
    while marker.get("shop:recorded") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.get("shop:recorded") == b"3", "the chain passed its values along"
    observed.wait_finished(observed.ids(UNREAD))
    return made


def test_unread_tasks_neither_subscribe_nor_store_after_the_rewrite(
    rewritten: Path, redis_server: RedisServer
) -> None:
    with shop(rewritten, redis_server) as (producer, observed):
        made = fire_and_forget(producer, observed, redis_server)
        unread = observed.ids(UNREAD)
        assert len(unread) == 5  # notify, notify_by_name, and the chain's three
        assert made == 0
        assert stored(redis_server, unread) == set()


def test_the_original_shop_subscribes_and_stores_for_the_same_calls(
    redis_server: RedisServer,
) -> None:
    with shop(PROJECT, redis_server) as (producer, observed):
        made = fire_and_forget(producer, observed, redis_server)
        unread = observed.ids(UNREAD)
        assert made >= 2  # at least the two single calls; the chain subscribes to its last
        assert stored(redis_server, unread) == unread


def test_a_chord_left_alone_completes_and_a_read_task_still_returns(
    rewritten: Path, redis_server: RedisServer
) -> None:
    tasks = (rewritten / "shop" / "tasks.py").read_text()
    assert "@app.task\ndef part(" in tasks and "@app.task\ndef compute(" in tasks
    with shop(rewritten, redis_server) as (producer, _):
        assert producer.squares(4) == 0 + 1 + 4 + 9
        compute = sys.modules["shop.tasks"].compute
        result = compute.delay(2)
        assert result.get(timeout=10) == 4
        assert stored(redis_server, {result.id}) == {result.id}
        del result
