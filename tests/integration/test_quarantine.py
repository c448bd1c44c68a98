"""The ingest quarantine: unknown types held back over real HTTP, then promoted once a schema exists."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from platform_events import cli
from platform_events.config import Settings, load_settings
from platform_events.db import Conn
from platform_events.ingest import quarantine
from tests.integration.test_ingest import WRITE_KEY, post, start_ingest, track


@pytest.fixture
def ingest(settings: Settings) -> Iterator[str]:
    url, server = start_ingest(
        load_settings(**{**settings.model_dump(), "ingest_write_keys": WRITE_KEY})
    )
    yield url
    server.shutdown()
    server.server_close()


def send(url: str, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    status, answer = post(f"{url}/v1/batch", {"batch": list(messages)})
    assert status == 200, answer
    results: list[dict[str, Any]] = answer["results"]
    return results


def add_invoice_schema(conn: Conn) -> None:
    conn.execute(
        """INSERT INTO event_schemas (event_type, version, category, json_schema, retention, description)
           VALUES ('invoice.sent', 1, 'transaction',
                   '{"type": "object", "required": ["invoice_id"],
                     "properties": {"invoice_id": {"type": "string"}}}',
                   interval '7 years', 'an invoice was sent to a client')"""
    )


def test_unknown_types_wait_in_quarantine_and_are_promoted_once_their_schema_exists(
    ingest: str, conn: Conn
) -> None:
    # Sent one request at a time so received_at orders them: the invalid one first, so with a
    # chunk of one the promotion must walk past an event that stays rejected.
    invalid = send(ingest, track("Invoice Sent", {"amount": 10}))[0]
    valid = [send(ingest, track("Invoice Sent", {"invoice_id": f"inv_{i}"}))[0] for i in range(3)]
    other = send(ingest, track("Coupon Applied", {"code": "X"}))[0]
    assert {r["status"] for r in [invalid, *valid, other]} == {"quarantined"}

    held = quarantine.summary(conn)
    assert {(r["event_type"], r["events"], r["promotable"]) for r in held} == {
        ("invoice.sent", 4, False),
        ("coupon.applied", 1, False),
    }
    assert quarantine.promote(conn) == {}

    add_invoice_schema(conn)
    chunks: list[int] = []
    totals = quarantine.promote(conn, chunk=1, on_chunk=chunks.append)
    assert totals == {"invoice.sent": {"accepted": 3, "duplicate": 0, "rejected": 1}}
    assert chunks == [1, 1, 1, 1]

    stored = conn.execute(
        """SELECT e.event_id::text, e.event_type, e.user_id, e.event_data, e.metadata, d.status
           FROM platform_events e JOIN platform_event_delivery d USING (event_id)"""
    ).fetchall()
    assert sorted(r["event_id"] for r in stored) == sorted(r["event_id"] for r in valid)
    assert {r["event_type"] for r in stored} == {"invoice.sent"}
    assert {r["user_id"] for r in stored} == {"user_1"}
    assert {r["status"] for r in stored} == {"pending"}
    assert all("quarantined_at" in r["metadata"] for r in stored)

    left = conn.execute(
        "SELECT event_id::text, event_type, reason FROM platform_events_quarantine ORDER BY event_type"
    ).fetchall()
    assert [(r["event_id"], r["event_type"]) for r in left] == [
        (other["event_id"], "coupon.applied"),
        (invalid["event_id"], "invoice.sent"),
    ]
    assert left[1]["reason"].startswith("rejected on promotion: PE003 event_data.invoice_id")

    # Promoting again changes nothing: the invalid one is rejected again, nothing is stored twice.
    again = quarantine.promote(conn)
    assert again == {"invoice.sent": {"accepted": 0, "duplicate": 0, "rejected": 1}}
    assert conn.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 3}


def test_an_event_already_stored_is_answered_duplicate_and_leaves_the_quarantine(
    ingest: str, conn: Conn
) -> None:
    held = send(ingest, track("Invoice Sent", {"invoice_id": "inv_1"}))[0]
    add_invoice_schema(conn)
    conn.execute(
        "SELECT emit_platform_event('invoice.sent', '{\"invoice_id\": \"inv_1\"}', 'user_1',"
        " NULL, '{}', now(), %s)",
        [held["event_id"]],
    )
    assert quarantine.promote(conn) == {
        "invoice.sent": {"accepted": 0, "duplicate": 1, "rejected": 0}
    }
    assert conn.execute("SELECT count(*) AS n FROM platform_events_quarantine").fetchone() == {
        "n": 0
    }


def test_promotion_is_the_pipelines_right_and_its_limit_is_checked(conn: Conn) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL ROLE platform_events_pipeline")
        assert conn.execute("SELECT * FROM promote_quarantined_events()").fetchall() == []
    with conn.transaction():
        conn.execute("SET LOCAL ROLE platform_events_ingest")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM promote_quarantined_events()")
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        conn.execute("SELECT * FROM promote_quarantined_events(NULL, 0)")
    assert caught.value.diag.column_name == "limit"


def test_cli_lists_then_promotes(
    ingest: str,
    conn: Conn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("PLATFORM_EVENTS_HOME", str(settings.platform_events_home))
    event_id = send(ingest, track("Invoice Sent", {"invoice_id": "inv_9"}))[0]["event_id"]

    assert cli.main(["quarantine"]) == 0
    listing = capsys.readouterr().out
    assert "invoice.sent  (no schema yet)" in listing

    add_invoice_schema(conn)
    assert cli.main(["quarantine", "--promote"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer == {"invoice.sent": {"accepted": 1, "duplicate": 0, "rejected": 0}}
    assert conn.execute(
        "SELECT event_type FROM platform_events WHERE event_id = %s", [uuid.UUID(event_id)]
    ).fetchone() == {"event_type": "invoice.sent"}
    assert cli.main(["quarantine"]) == 0
    assert "the quarantine is empty" in capsys.readouterr().out
