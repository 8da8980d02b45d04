"""A storefront service: it starts the worker's tasks by name and never imports their code.

The calls are written in several styles on purpose (quotes, line breaks, comments, a constant for
the name, a positional `args`), so the tests run the keywords the codemod inserts into each of them.
"""

from __future__ import annotations

# fmt: off
from celery import Celery

app = Celery("storefront")

CLICK_TASK = "e2e_worker.tasks.record_click"


def on_page_view(page_id: int) -> None:
    app.send_task(CLICK_TASK, args=[page_id])


def save_cart(cart: dict[str, int]) -> None:
    app.send_task('e2e_worker.tasks.snapshot', args=(cart,))


def archive_order(order_id: int) -> None:
    app.send_task(
        "e2e_worker.tasks.archive",
        args=[order_id],
    )


def monthly_report(month: str) -> None:
    app.send_task("e2e_worker.tasks.render_report",
                  kwargs={"month": month},  # keyword arguments only
                  countdown=30)


def audit_login(user_id: int) -> None:
    app.send_task("e2e_worker.tasks.audit", args=[{"event": "login", "user": user_id}])


def page_oncall() -> None:
    app.send_task("e2e_worker.tasks.page_oncall", args=["INC-1"])


def refresh_quote(symbol: str) -> None:
    app.send_task("e2e_worker.tasks.refresh_quote", [symbol])


def ping(host: str) -> None:
    app.send_task("e2e_worker.tasks.ping", args=[host])


def bulk_import(batch_id: int) -> None:
    # The storefront asks for a higher priority than the task declares; that is kept.
    app.send_task("e2e.bulk_import", args=[batch_id], priority=5)
