"""Fixtures for the end-to-end tests: a real redis-server, a dead port, producer apps, the clock."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from tests.e2e.support import RedisServer, drain, free_port, freeze_clock, producer_app


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A throwaway redis-server on a free loopback port, stopped at the end of the session."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail(
            "redis-server is not on PATH; the e2e tests need a real server "
            "(install it, e.g. `apt-get install -y redis-server`)",
            pytrace=False,
        )
    port = free_port()
    command = [executable, "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no"]
    log = tmp_path_factory.mktemp("redis") / "redis-server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_for_ping(process, port, log)
        yield RedisServer(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_ping(
    process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 10
) -> None:
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            pytest.fail(f"redis-server exited with {process.returncode}:\n{output}", pytrace=False)
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
        finally:
            client.close()
    pytest.fail(
        f"redis-server did not answer PING on port {port} within {timeout} s", pytrace=False
    )


@pytest.fixture
def dead_port() -> int:
    """A loopback port with nothing listening: a result backend that is down."""
    return free_port()


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    """A producer app without a result backend, its clock frozen, on an empty memory broker."""
    drain()
    with producer_app() as app:
        freeze_clock(monkeypatch, app)
        yield app
