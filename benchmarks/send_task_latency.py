"""Per-call latency of `send_task` as written (original) and with `ignore_result=True` (rewritten).

The broker is `memory://`; the result backend is Redis in three states:

- healthy: a redis-server this script starts on a free loopback port (needs `redis-server`);
- down: a loopback port nothing listens on;
- hung: a loopback listener that accepts connections and never answers.

Celery's default backend retry policy is 20 reconnects 1 s apart (about 20 s per failing call);
this script uses `--max-retries` reconnects 0.1 s apart so that it stops in seconds. Prints a
markdown table. Run: `python benchmarks/send_task_latency.py [--calls 200] [--slow-calls 10]`.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from celery import Celery
from kombu import Connection

TASK = "proj.tasks.record_click"


@dataclass(frozen=True)
class Run:
    scenario: str
    variant: str
    latencies_ms: list[float]
    failures: int

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[98]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def healthy_redis() -> Iterator[int]:
    """A redis-server on a free loopback port, answering PING; stopped on exit."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not on PATH (apt-get install -y redis-server)")
    port = free_port()
    command = [executable, "--port", str(port), "--bind", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def hung_listener() -> Iterator[int]:
    """A loopback port that accepts connections and never sends a byte; closed on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def measure(scenario: str, variant: str, port: int, calls: int, args: argparse.Namespace) -> Run:
    """`calls` sends from a fresh producer app; each result is dropped at once, as callers do."""
    app = Celery("producer", set_as_current=False)
    app.conf.update(
        broker_url="memory://",
        result_backend=f"redis://127.0.0.1:{port}/0",
        redis_socket_connect_timeout=args.socket_timeout,
        redis_socket_timeout=args.socket_timeout,
        result_backend_transport_options={
            "retry_policy": {"max_retries": args.max_retries, "interval_step": 0.1}
        },
    )
    options = {"ignore_result": True} if variant == "rewritten" else {}
    latencies, failures = [], 0
    try:
        for _ in range(calls):
            start = time.perf_counter()
            try:
                app.send_task(TASK, args=[1], **options)
            except Exception:  # a failing call is what is measured
                failures += 1
            latencies.append((time.perf_counter() - start) * 1000)
    finally:
        app.backend.client.connection_pool.disconnect()
        app.close()
        with Connection("memory://") as connection:
            connection.default_channel.queue_purge("celery")
    return Run(scenario, variant, latencies, failures)


def table(runs: list[Run]) -> str:
    lines = [
        "| scenario | variant | calls | median ms | p99 ms | failures | ratio original/rewritten |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    medians = {(r.scenario, r.variant): r.median for r in runs}
    for run in runs:
        ratio = ""
        if run.variant == "original":
            ratio = f"{run.median / medians[(run.scenario, 'rewritten')]:.1f}x"
        lines.append(
            f"| {run.scenario} | {run.variant} | {len(run.latencies_ms)} | {run.median:.3f} "
            f"| {run.p99:.3f} | {run.failures} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per variant, healthy Redis")
    parser.add_argument("--slow-calls", type=int, default=10, help="calls per variant, down/hung")
    parser.add_argument("--socket-timeout", type=float, default=0.5, help="Redis timeouts (s)")
    parser.add_argument("--max-retries", type=int, default=1, help="backend reconnects per call")
    args = parser.parse_args()
    runs = []
    with healthy_redis() as port:
        for variant in ("original", "rewritten"):
            runs.append(measure("healthy", variant, port, args.calls, args))
    down = free_port()
    for variant in ("original", "rewritten"):
        runs.append(measure("down", variant, down, args.slow_calls, args))
    with hung_listener() as port:
        for variant in ("original", "rewritten"):
            runs.append(measure("hung", variant, port, args.slow_calls, args))
    print(
        f"send_task latency; memory:// broker; Redis socket timeouts {args.socket_timeout} s, "
        f"{args.max_retries} backend reconnect(s) per call\n"
    )
    print(table(runs))


if __name__ == "__main__":
    main()
