"""pipeline_status: the seed's three monitoring answers, backlog and oldest pending age."""

from __future__ import annotations

import json
import logging
import os
import pty
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from platform_events.config import Settings
from platform_events.db import Conn
from tests.builders import emit, set_delivery
from tests.integration.jobs_http import call, client

REPO = Path(__file__).resolve().parents[2]


def test_status_reports_backlog_age_failures_and_syncs(
    settings: Settings, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    pending = [emit(conn, "user.login") for _ in range(3)]
    # The oldest pending event arrived ten minutes ago.
    conn.execute(
        "UPDATE platform_event_delivery SET received_at = now() - interval '10 minutes' "
        "WHERE event_id = %s",
        (pending[0],),
    )
    processing = emit(conn, "user.login")
    set_delivery(conn, [processing], status="processing", claimed_at=datetime.now(UTC))
    failed = [emit(conn, "search.performed") for _ in range(2)] + [emit(conn, "user.login")]
    set_delivery(conn, failed[:2], status="failed", retry_count=3, last_error="schema mismatch")
    set_delivery(conn, failed[2:], status="failed", retry_count=3, last_error="timeout")
    delivered = emit(conn, "user.login")
    set_delivery(conn, [delivered], status="delivered", retry_count=1)
    conn.execute(
        "INSERT INTO warehouse_sync_status (warehouse_type, events_synced, events_failed, "
        "sync_duration_ms, status, finished_at, created_at) VALUES "
        "('duckdb', 100, 0, 40, 'success', now(), now()), "
        "('duckdb', 50, 5, 60, 'partial', now(), now()), "
        "('bigquery', 10, 0, 900, 'success', now() - interval '2 days', now() - interval '2 days')"
    )

    with caplog.at_level(logging.INFO, logger="platform_events.jobs.status"):
        status, answer = call(client(settings), "pipeline_status", {})
    assert status == 200, answer
    assert answer["backlog"] == 4 and answer["pending"] == 3 and answer["processing"] == 1
    assert answer["failed"] == 3
    assert 600 <= answer["oldest_pending_age_s"] < 3600
    by_status = {r["status"]: r for r in answer["processing_last_hour"]}
    assert by_status["failed"]["events"] == 3 and by_status["failed"]["avg_retries"] == 3.0
    assert by_status["pending"]["events"] == 3 and by_status["delivered"]["avg_retries"] == 1.0
    assert answer["syncs_last_day"] == [
        {
            "warehouse_type": "duckdb",
            "syncs": 2,
            "avg_ms": 50,
            "total_synced": 150,
            "total_failed": 5,
            "failed_syncs": 1,
            "last_finished_at": answer["syncs_last_day"][0]["last_finished_at"],
        }
    ]
    assert [(f["event_type"], f["error_message"], f["events"]) for f in answer["failures"]] == [
        ("search.performed", "schema mismatch", 2),
        ("user.login", "timeout", 1),
    ]
    summary = [r for r in caplog.records if r.getMessage() == "status finished"]
    assert len(summary) == 1
    fields = summary[0].fields  # type: ignore[attr-defined]
    assert fields["job"] == "status" and fields["backlog"] == 4
    assert fields["oldest_pending_age_s"] == answer["oldest_pending_age_s"]
    json.dumps(fields)


def test_an_empty_pipeline_reports_zero_age(settings: Settings) -> None:
    status, answer = call(client(settings), "pipeline_status", {})
    assert status == 200
    assert (answer["backlog"], answer["oldest_pending_age_s"], answer["failures"]) == (0, 0.0, [])
    assert answer["delivery"] == {
        "sinks": [],  # no warehouse ever failed
        "batches": dict.fromkeys(("leased", "held", "expired", "held_events", "max_attempt"), 0),
    }


def test_status_cli_prints_json_for_scripts(
    settings: Settings,
    conn: Conn,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platform_events import cli

    emit(conn, "user.login", occurred_at=datetime.now(UTC) - timedelta(hours=1))
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("PLATFORM_EVENTS_HOME", str(settings.home))
    assert cli.main(["status", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["backlog"], answer["pending"]) == (1, 1)
    assert cli.main(["status"]) == 0
    assert "backlog: 1 (1 pending, 0 processing)" in capsys.readouterr().out


def _run_status(settings: Settings, *, terminal: bool) -> str:
    """``platform-events status`` in its own process; stdout and stderr on a pty or on pipes."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "functions"),
        "DATABASE_URL": str(settings.database_url),
        "PLATFORM_EVENTS_HOME": str(settings.home),
        "LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "platform_events", "status"]
    if not terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr
    master, replica = pty.openpty()
    try:
        process = subprocess.Popen(command, env=env, stdout=replica, stderr=replica)
        os.close(replica)
        output, deadline = b"", time.monotonic() + 120
        while select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed its side of the terminal
                break
            if not chunk:
                break
            output += chunk
        assert process.wait(timeout=max(1.0, deadline - time.monotonic())) == 0, output
    finally:
        os.close(master)
    return output.decode().replace("\r\n", "\n")


def test_status_on_a_terminal_shows_its_report_and_no_json_log_line(
    settings: Settings, conn: Conn
) -> None:
    emit(conn, "user.login")
    shown = _run_status(settings, terminal=True)
    assert shown.lstrip().startswith("backlog: 1 (1 pending, 0 processing)"), shown
    assert '{"severity"' not in shown and "status finished" not in shown
    piped = _run_status(settings, terminal=False)  # a machine reading: Cloud Logging's JSON
    assert "backlog: 1 (1 pending, 0 processing)" in piped
    entries = [json.loads(line) for line in piped.splitlines() if line.startswith("{")]
    assert any(e["message"] == "status finished" and e["backlog"] == 1 for e in entries)
