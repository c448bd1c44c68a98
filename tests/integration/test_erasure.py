"""erase_user and export-user: nothing personal left in Postgres, audited by keyed hash, queued by
the users-table trigger; the warehouse part runs against the real DuckDB sink."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.jobs import gdpr
from platform_events.sinks.base import OccurredSpan
from tests.builders import emit
from tests.integration.jobs_http import call, client, field_of

PERSONAL = (
    "alice",
    "s-alice",
    "203.0.113.9",
    "python developer",
    "Great work, Jane",
    "Mozilla/5.0",
)


@pytest.fixture
def audited(settings: Settings) -> Settings:
    return settings.model_copy(update={"erasure_audit_key": SecretStr("audit-key-for-tests")})


@pytest.fixture
def warehouse_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records warehouse erasures instead of running them (Postgres-side tests only)."""
    calls: list[str] = []

    def record(settings: Settings, user_id: str, span: OccurredSpan | None) -> int:
        assert span is None or span[0] <= span[1]
        calls.append(user_id)
        return 0

    monkeypatch.setattr(gdpr, "_warehouse_erase", record)
    return calls


def _alice(conn: Conn) -> None:
    emit(
        conn,
        "search.performed",
        user_id="alice",
        session_id="s-alice",
        event_data={"query": "python developer", "results_count": 3, "filters": {"owner": "alice"}},
        metadata={"ip": "203.0.113.9", "user_agent": "Mozilla/5.0", "source": "web"},
    )
    emit(conn, "review.posted", user_id="alice", session_id="s-alice")
    emit(conn, "user.login", user_id="alice", session_id="s-alice")
    emit(
        conn,
        "profile.viewed",
        user_id="bob",
        event_data={"profile_id": "alice", "source": "search"},
    )
    emit(conn, "user.login", user_id="bob", session_id="s-bob")


def _everything(conn: Conn) -> str:
    row = conn.execute(
        "SELECT coalesce(string_agg(t::text, ' '), '') AS text FROM platform_events t"
    ).fetchone()
    assert row is not None
    return str(row["text"])


def test_erasure_leaves_no_personal_field_in_postgres_and_is_audited_by_keyed_hash(
    audited: Settings, conn: Conn, warehouse_calls: list[str]
) -> None:
    _alice(conn)
    conn.execute(
        "INSERT INTO platform_events_quarantine (event_id, event_type, reason, user_id) "
        "VALUES (gen_random_uuid(), 'unknown.thing', 'unknown event type', 'alice')"
    )
    status, answer = call(
        client(audited), "erase_user", {"user_id": "alice", "requested_by": "dpo"}
    )
    assert status == 200, answer
    assert answer["postgres_events"] == 4 and answer["quarantine_events"] == 1
    assert warehouse_calls == ["alice"]
    text = _everything(conn)
    for personal in PERSONAL:
        assert personal not in text
    assert "s-bob" in text  # other users keep their data
    assert conn.execute("SELECT count(*) AS n FROM platform_events_quarantine").fetchone() == {
        "n": 0
    }

    audit = conn.execute("SELECT * FROM user_erasure_audit").fetchall()
    assert len(audit) == 1
    assert "alice" not in json.dumps(audit, default=str)
    assert audit[0]["user_key"] == gdpr.user_key("audit-key-for-tests", "alice")
    assert (audit[0]["source"], audit[0]["requested_by"]) == ("api", "dpo")
    trail = gdpr.audit_trail(audited, "alice")
    assert [t["postgres_events"] for t in trail] == [4]
    assert gdpr.audit_trail(audited, "bob") == []


def test_deleting_a_user_row_queues_the_erasure_and_the_job_drains_the_queue(
    audited: Settings, conn: Conn, warehouse_calls: list[str]
) -> None:
    _alice(conn)
    conn.execute("CREATE TABLE app_users (user_ref text PRIMARY KEY, email text)")
    conn.execute("SELECT install_user_erasure_trigger('app_users', 'user_ref')")
    conn.execute(
        "INSERT INTO app_users VALUES ('alice', 'a@example.com'), ('carol', 'c@example.com')"
    )
    conn.execute("DELETE FROM app_users WHERE user_ref = 'alice'")
    queued = conn.execute("SELECT user_id, source, requested_by FROM user_erasure_queue").fetchall()
    assert queued == [
        {"user_id": "alice", "source": "trigger", "requested_by": "delete on public.app_users"}
    ]

    status, answer = call(client(audited), "erase_user", {})
    assert status == 200, answer
    assert (answer["erased"], answer["queue_failed"], answer["postgres_events"]) == (1, 0, 4)
    assert conn.execute("SELECT count(*) AS n FROM user_erasure_queue").fetchone() == {"n": 0}
    assert "alice" not in _everything(conn)
    assert [t["source"] for t in gdpr.audit_trail(audited, "alice")] == ["trigger"]


def test_a_failed_queued_erasure_is_rolled_back_and_retried_later(
    audited: Settings, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _alice(conn)
    conn.execute("INSERT INTO user_erasure_queue (user_id, requested_by) VALUES ('alice', 'test')")

    def unavailable(settings: Settings, user_id: str, span: OccurredSpan | None) -> int:
        raise ConnectionError("warehouse down")

    monkeypatch.setattr(gdpr, "_warehouse_erase", unavailable)
    status, answer = call(client(audited), "erase_user", {})
    assert status == 200 and (answer["erased"], answer["queue_failed"]) == (0, 1)
    assert "alice" in _everything(conn)  # Postgres rolled back with the warehouse failure
    row = conn.execute(
        "SELECT attempts, last_error, next_attempt_at > now() AS later FROM user_erasure_queue"
    ).fetchone()
    assert row == {"attempts": 1, "last_error": "ConnectionError", "later": True}
    assert conn.execute("SELECT count(*) AS n FROM user_erasure_audit").fetchone() == {"n": 0}


def test_export_writes_every_stored_event_of_the_user_as_json(
    audited: Settings, conn: Conn
) -> None:
    _alice(conn)
    out = io.StringIO()
    assert gdpr.export_user(audited, "alice", out) == 3
    document: dict[str, Any] = json.loads(out.getvalue())
    assert document["user_id"] == "alice" and document["count"] == 3
    assert sorted(e["event_type"] for e in document["events"]) == [
        "review.posted",
        "search.performed",
        "user.login",
    ]
    assert all(e["user_id"] == "alice" for e in document["events"])
    assert document["quarantined_events"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": ""}, "user_id"),
        ({"user_id": "x" * 256}, "user_id"),
        ({"user_id": 42}, "user_id"),
        ({"limit": 0}, "limit"),
        ({"requested_by": ""}, "requested_by"),
        ({"user": "alice"}, "user"),
    ],
)
def test_invalid_erase_bodies_get_400_naming_the_field(
    settings: Settings, body: dict[str, Any], field: str
) -> None:
    status, answer = call(client(settings), "erase_user", body)
    assert status == 400
    assert field_of(answer) == field


def _warehouse_text(settings: Settings) -> tuple[str, int]:
    """Every warehouse row as text, and the row count (read-only, so the sink can reopen it)."""
    assert settings.duckdb_path is not None
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as warehouse:
        rows = warehouse.execute("SELECT e::text FROM events e").fetchall()
    return " ".join(r[0] for r in rows), len(rows)


def test_erasure_over_http_leaves_nothing_personal_in_postgres_or_the_duckdb_warehouse(
    audited: Settings, conn: Conn
) -> None:
    _alice(conn)
    http = client(audited)
    status, streamed = call(http, "stream_platform_events", {})
    assert (status, streamed["delivered"]) == (200, 5), streamed
    before, rows = _warehouse_text(audited)
    assert rows == 5
    assert all(personal in before for personal in ("alice", "s-alice", "python developer"))

    status, answer = call(http, "erase_user", {"user_id": "alice", "requested_by": "dpo"})
    assert status == 200, answer
    assert answer["postgres_events"] == 4 and answer["warehouse_events"] >= 4

    after, rows = _warehouse_text(audited)
    assert rows == 5  # erasure scrubs rows, it does not lose other users' facts
    for personal in PERSONAL:
        assert personal not in after
        assert personal not in _everything(conn)
    assert "s-bob" in after
    audit = conn.execute("SELECT warehouse, warehouse_events FROM user_erasure_audit").fetchall()
    assert audit == [{"warehouse": "duckdb", "warehouse_events": answer["warehouse_events"]}]


def test_job_logs_are_json_summaries_without_the_users_id_or_payloads(
    audited: Settings, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    from platform_events.logs import JsonFormatter

    _alice(conn)
    http = client(audited)
    with caplog.at_level(logging.DEBUG):
        call(http, "stream_platform_events", {})
        status, _ = call(http, "erase_user", {"user_id": "alice", "requested_by": "dpo"})
        call(http, "pipeline_status", {})
    assert status == 200
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name.startswith("platform_")]
    summaries = [json.loads(line) for line in lines]
    jobs = {s.get("job") for s in summaries}
    assert {"stream", "erase_user", "status"} <= jobs, jobs
    for summary in summaries:
        assert summary["severity"] in {"DEBUG", "INFO", "WARNING", "ERROR"} and summary["message"]
    erased = next(s for s in summaries if s.get("job") == "erase_user")
    assert erased["postgres_events"] == 4 and "duration_ms" in erased
    text = "\n".join(lines)
    for personal in PERSONAL:
        assert personal not in text
