"""celery-codemod: copy Celery task declarations' options onto send_task call sites."""

from __future__ import annotations

__version__ = "0.1.0"
