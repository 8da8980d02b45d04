"""The worker's app and the queues it consumes (bound to the exchanges its tasks name)."""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

app = Celery("e2e_worker")
app.conf.task_queues = (
    Queue("celery"),
    Queue("reports"),
    Queue("audit", Exchange("events"), routing_key="events.audit"),
    Queue("bulk", Exchange("bulk"), routing_key="bulk.import"),
)
