"""The log sanitiser: exceptions are logged by type and names, their frames kept, their text never."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import select
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from platform_events import logs
from platform_events.errors import ConfigError

# Built at run time: traceback frames quote source lines, which must not hold it either.
MARKER = "-".join(["user", "42"])


def _raised_chain() -> ValueError:
    try:
        try:
            raise KeyError(MARKER)
        except KeyError as inner:
            raise ValueError(f"could not store {inner}") from inner
    except ValueError as outer:
        return outer


def test_a_traceback_keeps_frames_and_chain_but_no_message() -> None:
    text = logs.safe_traceback(_raised_chain())
    assert MARKER not in text
    assert text.count("Traceback (most recent call last):") == 2
    assert "direct cause" in text
    assert "_raised_chain" in text
    assert text.endswith("ValueError")


def test_an_exception_made_to_be_shown_keeps_its_message() -> None:
    fields = logs.error_fields(ConfigError("invalid configuration: WAREHOUSE: bad choice"))
    assert fields["error"] == "invalid configuration: WAREHOUSE: bad choice"
    assert "error" not in logs.error_fields(ValueError(MARKER))


def test_any_logger_logging_the_old_way_gets_redacted_records() -> None:
    previous = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # a plain text handler, not ours
    logger = logging.getLogger("tests.unit.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logs.install_redaction()
        error = _raised_chain()
        logger.error("failed: %s", error, exc_info=error)
        logger.error(error)
    finally:
        logging.setLogRecordFactory(previous)
        logger.removeHandler(handler)
        logger.propagate = True
    assert MARKER not in stream.getvalue()
    assert "failed: ValueError" in stream.getvalue()


def test_the_json_formatter_renders_exc_info_safely_even_without_redaction() -> None:
    error = _raised_chain()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m %s", (error,), None)
    record.exc_info = (type(error), error, error.__traceback__)
    entry = json.loads(logs.JsonFormatter().format(record))
    assert MARKER not in json.dumps(entry)
    assert entry["error_type"] == "ValueError" and entry["message"] == "m ValueError"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """``logs.configure`` replaces the root handlers and hooks; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = (sys.excepthook, threading.excepthook)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks


END = "-- end of output --"


def _read_all(fd: int) -> str:
    """What the terminal showed up to the END line written after the logs (deadline 10 s)."""
    text, deadline = b"", time.monotonic() + 10
    while END.encode() not in text and select.select([fd], [], [], deadline - time.monotonic())[0]:
        text += os.read(fd, 65536)
    assert END.encode() in text, text
    return text.decode().replace("\r\n", "\n")


def test_on_a_terminal_logs_are_plain_warnings_and_still_redacted(
    restored_logging: None,
) -> None:
    master, replica = pty.openpty()
    try:
        with os.fdopen(replica, "w", buffering=1, closefd=False) as terminal:
            logs.configure("INFO", terminal)
            log = logging.getLogger("platform_events.test")
            log.info("status finished", extra={"fields": {"backlog": 3}})
            log.warning("sink slow", extra={"fields": {"attempt": 2}})
            logs.log_error(log, "stream failed", _raised_chain(), batch=7)
            terminal.write(END + "\n")
        text = _read_all(master)
    finally:
        os.close(master)
        os.close(replica)
    assert "status finished" not in text  # INFO would come between a command and its report
    assert '{"severity"' not in text
    assert "warning: sink slow (attempt=2)" in text
    assert "error: stream failed (batch=7, error_type=ValueError)" in text
    assert "Traceback (most recent call last):" in text and "_raised_chain" in text
    assert MARKER not in text


def test_on_a_terminal_debug_stays_when_asked_for(restored_logging: None) -> None:
    master, replica = pty.openpty()
    try:
        with os.fdopen(replica, "w", buffering=1, closefd=False) as terminal:
            logs.configure("DEBUG", terminal)
            logging.getLogger("platform_events.test").debug("claimed", extra={"fields": {"n": 1}})
            terminal.write(END + "\n")
        assert "debug: claimed (n=1)" in _read_all(master)
    finally:
        os.close(master)
        os.close(replica)


def test_off_a_terminal_logs_stay_json_at_the_level_set(restored_logging: None) -> None:
    stream = io.StringIO()
    logs.configure("INFO", stream)
    logging.getLogger("platform_events.test").info("status finished", extra={"fields": {"n": 3}})
    entry = json.loads(stream.getvalue())
    assert (entry["severity"], entry["message"], entry["n"]) == ("INFO", "status finished", 3)


def test_json_logs_have_severity_message_and_extra_fields() -> None:
    stream = io.StringIO()
    logs.configure("INFO", stream)
    logging.getLogger("platform_events.test").warning("hello", extra={"fields": {"claimed": 3}})
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello"
    assert entry["claimed"] == 3
