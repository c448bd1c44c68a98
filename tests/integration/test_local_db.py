"""`platform-events db start` tells the truth: after the embedded postmaster is killed it recovers
and answers with a URL only once a query succeeds there, or fails saying what to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from platform_events import errors, local
from platform_events.config import load_settings

REPO = Path(__file__).resolve().parents[2]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "platform_events", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PYTHONPATH": str(REPO / "functions"),
            "PATH": "/usr/bin:/bin",
            "PLATFORM_EVENTS_HOME": str(home),
            "HOME": str(home),
        },
    )


def _query_succeeds(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _postmaster_pid(home: Path) -> int:
    return int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


def test_db_start_right_after_the_postmaster_was_killed_answers_only_with_a_working_url(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first = _cli(home, "db", "start")
    assert first.returncode == 0, first.stderr[-2000:]
    try:
        for _ in range(3):
            os.kill(_postmaster_pid(home), signal.SIGKILL)
            started = _cli(home, "db", "start")
            url = started.stdout.strip()
            works = bool(url) and _query_succeeds(url)
            assert (started.returncode == 0) == works, started.stderr[-2000:]
            assert started.returncode == 0, started.stderr[-2000:]  # and here it recovers
    finally:
        _cli(home, "db", "stop")


def test_db_start_that_cannot_recover_fails_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    settings = load_settings(platform_events_home=home, database_url=None)
    local.start(settings)
    local.stop(settings)
    # A setting the server refuses at start: nothing will ever accept connections here.
    with (home / "pgdata" / "postgresql.auto.conf").open("a") as conf:
        conf.write("\nshared_buffers = 'not a size'\n")
    monkeypatch.setattr(local, "START_WAIT_S", 1.0)
    with pytest.raises(errors.EmbeddedPostgresError) as caught:
        local.start(settings)
    message = str(caught.value)
    assert "does not accept connections" in message
    assert (
        "postmaster.pid" in message
        and "db start" in message
        and str(home / "pgdata" / "log") in message
    )
