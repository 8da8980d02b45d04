"""Each task declares one option of the parity set; `bulk_import` declares them all."""

from __future__ import annotations

from e2e_worker.celery import app


@app.task(ignore_result=True)
def record_click(page_id: int) -> None:
    print(f"click on {page_id}")


@app.task(serializer="pickle")
def snapshot(cart: dict[str, int]) -> None:
    print(f"cart {cart}")


@app.task(compression="zlib")
def archive(order_id: int) -> None:
    print(f"archiving {order_id}")


@app.task(queue="reports")
def render_report(month: str) -> None:
    print(f"report for {month}")


@app.task(exchange="events", routing_key="events.audit")
def audit(event: dict[str, object]) -> None:
    print(f"audit {event}")


@app.task(priority=9)
def page_oncall(incident_id: str) -> None:
    print(f"paging for {incident_id}")


@app.task(expires=300)
def refresh_quote(symbol: str) -> None:
    print(f"quote for {symbol}")


@app.task(delivery_mode=1)
def ping(host: str) -> None:
    print(f"ping {host}")


@app.task(
    name="e2e.bulk_import",
    ignore_result=True,
    serializer="pickle",
    compression="zlib",
    queue="bulk",
    routing_key="bulk.import",
    exchange="bulk",
    priority=3,
    expires=60,
    delivery_mode=1,
)
def bulk_import(batch_id: int) -> None:
    print(f"importing batch {batch_id}")
