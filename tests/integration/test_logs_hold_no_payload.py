"""No log line holds a payload or a user id, whatever fails and however deep.

Each test fails on purpose with a unique marker as the payload or the user id, at a different
layer (the store refusing a client batch, a job raising a database error wrapped in its own,
enrichment's query, an error logged by a library the old way, an uncaught exception), and then
looks for the marker in every record pytest captured, rendered both by pytest and by the JSON
formatter the deployment uses.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import BaseModel

from platform_events import logs, web
from platform_events.client import Analytics
from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from tests.builders import emit

REPO = Path(__file__).resolve().parents[2]


class Empty(BaseModel):
    """A job body with no fields."""


@pytest.fixture
def marker() -> Iterator[str]:
    """A unique payload / user id; records are redacted as ``logs.configure`` sets up."""
    previous = logging.getLogRecordFactory()
    logs.install_redaction()
    yield f"secret-{uuid.uuid4().hex}"
    logging.setLogRecordFactory(previous)


def _rendered(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logs.JsonFormatter()
    return caplog.text + "\n".join(formatter.format(r) for r in caplog.records)


def _assert_clean(caplog: pytest.LogCaptureFixture, marker: str) -> str:
    text = _rendered(caplog)
    assert caplog.records, "the failure was logged"
    assert marker not in text
    return text


def _database_errors(conn: Conn, marker: str) -> list[psycopg.Error]:
    """Real server errors carrying the marker in their message, DETAIL and CONTEXT."""
    found: list[psycopg.Error] = []
    conn.execute("CREATE TEMP TABLE held (id text PRIMARY KEY)")
    conn.execute("INSERT INTO held VALUES (%s)", (marker,))
    for statement, params in (
        ("SELECT %s::int", (marker,)),  # message: invalid input syntax ... "marker"
        ("INSERT INTO held VALUES (%s)", (marker,)),  # DETAIL: Key (id)=(marker) already exists
        ("SELECT %s::jsonb", ('{"a": "' + marker + '\\u0000"}',)),  # CONTEXT: JSON data ...
        (
            "DO $$ BEGIN RAISE EXCEPTION 'bad %', current_setting('pe.m') "
            "USING DETAIL = current_setting('pe.m'), COLUMN = 'event_data'; END $$",
            None,
        ),
    ):
        conn.execute("SELECT set_config('pe.m', %s, false)", (marker,))
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(statement, params)
        found.append(caught.value)
    assert all(marker in str(e) or marker in str(e.diag.context) for e in found)
    return found


def test_a_database_error_is_logged_by_sqlstate_and_field_never_by_its_text(
    conn: Conn, marker: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("platform_events.test")
    for error in _database_errors(conn, marker):
        wrapped: BaseException
        try:
            try:
                raise error
            except psycopg.Error as inner:
                raise RuntimeError(f"while storing: {inner}") from inner
        except RuntimeError as outer:
            wrapped = outer
        logs.log_error(log, "store failed", wrapped)
        # Libraries log the old way: exc_info, and exceptions as arguments.
        log.error("failed: %s", wrapped, exc_info=wrapped)
    text = _assert_clean(caplog, marker)
    assert "sqlstate=22P02" in text and "sqlstate=23505" in text
    assert '"column": "event_data"' in text
    assert '"constraint": "held_pkey"' in text


def test_a_job_failing_on_a_database_error_logs_its_incident_without_the_payload(
    conn: Conn, marker: str, caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    caplog.set_level(logging.INFO)
    error = _database_errors(conn, marker)[1]

    def job(params: Any, settings: Settings) -> dict[str, Any]:
        raise ValueError(f"could not handle {params}") from error

    answer = web.run_job(Empty, job, json.dumps({}).encode(), "application/json", settings=settings)
    assert answer.status == 500
    text = _assert_clean(caplog, marker)
    assert "incident" in text and "UniqueViolation" in text


def test_a_client_batch_the_store_refuses_is_logged_without_its_payload_or_user(
    settings: Settings, marker: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Analytics(settings, batch_size=10, flush_interval=0.05, debounce={}) as analytics:
        # U+0000 passes Python's checks; PostgreSQL refuses it in jsonb and quotes the JSON
        # text around it in the error's CONTEXT.
        analytics.emit_event(
            "search.performed",
            {"query": marker + "\x00", "results_count": 1},
            user_id=marker,
            metadata={"note": marker},
        )
        analytics.flush(timeout=10)
    assert analytics.stats.failed == 1
    _assert_clean(caplog, marker)


def test_enrichment_failing_on_user_ids_logs_no_user_id(
    conn: Conn, settings: Settings, marker: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emit(conn, user_id=marker)
    broken = settings.model_copy(
        update={
            "enrich_users_query": "SELECT id AS user_id, 'x' AS role, now() AS created_at "
            "FROM unnest(%(user_ids)s::text[]) AS id WHERE id::int > 0"
        }
    )
    stream.run(stream.StreamRequest(), broken)
    text = _assert_clean(caplog, marker)
    assert "user enrichment disabled" in text and "22P02" in text


def test_the_app_role_forging_a_user_id_gets_an_error_that_does_not_repeat_it(
    conn: Conn, marker: str
) -> None:
    conn.execute("SET ROLE platform_events_app")
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        emit(conn, user_id=marker)
    assert caught.value.diag.column_name == "user_id"
    assert marker not in str(caught.value)


def test_an_uncaught_exception_is_logged_without_its_text(marker: str, database_url: str) -> None:
    script = textwrap.dedent(
        f"""
        import threading, psycopg
        from platform_events import logs
        logs.configure("INFO")
        conn = psycopg.connect({database_url!r}, autocommit=True)
        def fail():
            conn.execute("SELECT %s::int", ({marker!r},))
        thread = threading.Thread(target=fail)
        thread.start(); thread.join()
        fail()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO / "functions"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [line["message"] for line in lines] == [
        "uncaught exception in a thread",
        "uncaught exception",
    ]
    assert all(line["sqlstate"] == "22P02" for line in lines)
    assert marker not in done.stderr + done.stdout
