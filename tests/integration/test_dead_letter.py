"""The ingest dead letter: every rejected message kept with its reason and source, listed by
``platform-events rejected``, counted by ``status``, purged after 30 days, erased and exported
with its user, and readable by the pipeline role alone."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from platform_events import cli
from platform_events.config import Settings, load_settings
from platform_events.db import Conn
from platform_events.ingest import deadletter
from platform_events.jobs import gdpr
from tests.builders import segment_track
from tests.integration.jobs_http import call, client
from tests.integration.test_ingest import WRITE_KEY, post, start_ingest


@pytest.fixture
def ingest_url(settings: Settings) -> Iterator[str]:
    keyed = load_settings(**{**settings.model_dump(), "ingest_write_keys": WRITE_KEY})
    url, server = start_ingest(keyed)
    yield url
    server.shutdown()
    server.server_close()


def _reject(url: str, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    status, answer = post(url + "/v1/batch", {"batch": list(messages)})
    assert status == 200, answer
    return list(answer["results"])


def test_every_rejected_message_is_kept_with_reason_source_and_a_bounded_copy(
    ingest_url: str, conn: Conn
) -> None:
    huge = segment_track(properties={"method": "sso", "padding": "x" * 40_000})
    results = _reject(
        ingest_url,
        segment_track(event="Signed In", properties={"method": "carrier pigeon"}),
        huge,
        segment_track(userId=None, anonymousId=None),
        segment_track(),
    )
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "accepted"]
    rows = deadletter.listing(conn)
    assert {(r["reason_code"], r["reason_field"]) for r in rows} == {
        ("PE005", "event_data.method"),
        ("too_large", "message"),
        ("missing_field", "userId"),
    }
    assert all(r["source"] != WRITE_KEY and len(r["source"]) == 16 for r in rows)
    cut = next(r for r in rows if r["message_id"] == huge["messageId"])
    assert cut["truncated"] and cut["message"].endswith(deadletter.TRUNCATED_MARKER)
    assert len(cut["message"]) == deadletter.MAX_MESSAGE_CHARS
    assert cut["message_bytes"] > 40_000


def test_a_body_that_is_not_json_is_kept_when_its_source_is_known(
    ingest_url: str, conn: Conn
) -> None:
    assert post(ingest_url + "/v1/batch", None, raw=b'{"batch": [\x00')[0] == 400
    (row,) = deadletter.listing(conn)
    assert (row["reason_code"], row["reason_field"]) == ("invalid_json", "body")
    assert "\\u0000" in row["message"]


def test_status_counts_and_the_cli_lists_by_reason(
    ingest_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _reject(
        ingest_url,
        segment_track(properties={"method": "sso", "note": "\x00"}),
        segment_track(properties={"method": "sso", "note": "\x00"}),
        segment_track(properties={"method": "sso", "n": float("nan")}),
    )
    status, answer = call(client(settings), "pipeline_status", {})
    assert status == 200 and answer["rejected_messages"] == 3
    by_reason = {r["reason_code"]: r["messages"] for r in answer["rejected_by_reason"]}
    assert by_reason == {"invalid_string": 2, "number_out_of_range": 1}

    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("PLATFORM_EVENTS_HOME", str(settings.platform_events_home))
    assert cli.main(["rejected", "--reason", "invalid_string", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 2 and {r["reason_field"] for r in listed} == {"properties.note"}
    assert cli.main(["rejected", "--limit", "1"]) == 0
    assert capsys.readouterr().out.count("source ") == 1
    assert cli.main(["status"]) == 0
    assert "rejected by ingest (last 30 days): 3" in capsys.readouterr().out


def test_retention_purges_dead_letters_older_than_30_days(
    ingest_url: str, settings: Settings, conn: Conn
) -> None:
    _reject(ingest_url, segment_track(userId=None), segment_track(userId=None))
    conn.execute(
        "UPDATE platform_events_dead_letter SET received_at = now() - interval '31 days'"
        " WHERE id = (SELECT min(id) FROM platform_events_dead_letter)"
    )
    status, answer = call(client(settings), "apply_retention", {"warehouse": False})
    assert status == 200 and answer["dead_letter_purged"] == 1
    assert conn.execute("SELECT count(*) AS n FROM platform_events_dead_letter").fetchone() == {
        "n": 1
    }


def test_erasure_and_export_cover_messages_carrying_the_user(
    ingest_url: str, settings: Settings, conn: Conn
) -> None:
    bad = {"method": "sso", "note": "\x00"}
    _reject(
        ingest_url,
        segment_track(userId="user_9", properties=bad),
        segment_track(userId=None, anonymousId="user_9", properties=bad),
        segment_track(userId="user_10", properties=bad),
    )
    out = io.StringIO()
    gdpr.export_user(settings, "user_9", out)
    assert len(json.loads(out.getvalue())["rejected_messages"]) == 2
    done = gdpr.erase_user(settings, "user_9", source="api", requested_by="test")
    assert done["dead_letter_events"] == 2
    left = conn.execute("SELECT user_id FROM platform_events_dead_letter").fetchall()
    assert left == [{"user_id": "user_10"}]


def _as(conn: Conn, role: str, statement: str, params: tuple[Any, ...] = ()) -> Any:
    """Run ``statement`` as ``role`` (SET LOCAL ROLE in its own transaction); its first row."""
    with conn.transaction():
        conn.execute(f"SET LOCAL ROLE {role}")
        return conn.execute(statement, params).fetchone()


READ = "SELECT count(*) AS n FROM platform_events_dead_letter"
WRITE = "SELECT dead_letter_platform_events(%s::jsonb) AS n"
INSERT = (
    "INSERT INTO platform_events_dead_letter (source, route, reason_code, reason, message,"
    " message_bytes) VALUES ('s', 'batch', 'c', 'r', '{}', 2)"
)
ROW = (json.dumps([{"source": "s", "code": "c", "reason": "r", "message": "{}"}]),)


@pytest.mark.parametrize(
    "role", ["platform_events_app", "platform_events_ingest", "platform_events_analyst"]
)
def test_only_the_pipeline_reads_the_dead_letter(conn: Conn, role: str) -> None:
    assert _as(conn, "platform_events_pipeline", READ) == {"n": 0}
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(conn, role, READ)


def test_ingest_writes_through_the_function_only_and_other_roles_cannot(conn: Conn) -> None:
    assert _as(conn, "platform_events_ingest", WRITE, ROW) == {"n": 1}
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(conn, "platform_events_ingest", INSERT)
    nobody = f"pe_nobody_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {nobody}")
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as(conn, nobody, WRITE, ROW)
    finally:
        conn.execute(f"DROP ROLE {nobody}")
