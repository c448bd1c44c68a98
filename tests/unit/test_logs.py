"""The log sanitiser: exceptions are logged by type and names, their frames kept, their text never."""

from __future__ import annotations

import io
import json
import logging

from platform_events import logs
from platform_events.config import ConfigError

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
