"""A request is written whole or not at all: a message the store refuses despite every check is
rejected alone (``unstorable``) while the rest are stored, and a connection lost mid-write
answers 503 with nothing of the request stored. Faults are planted with triggers on the real
tables (test databases only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from platform_events.config import Settings, load_settings
from platform_events.db import Conn
from tests.builders import segment_track
from tests.integration.test_ingest import WRITE_KEY, post, start_ingest


@pytest.fixture
def ingest_url(settings: Settings) -> Iterator[str]:
    url, server = start_ingest(
        load_settings(**{**settings.model_dump(), "ingest_write_keys": WRITE_KEY})
    )
    yield url
    server.shutdown()
    server.server_close()


# A value every check passes that this trigger makes the store refuse (SQLSTATE 22000).
REFUSE = """
CREATE FUNCTION pe_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event_data ->> 'note' = 'refuse me' THEN
        RAISE EXCEPTION 'planted refusal' USING ERRCODE = '22000';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER pe_test_refuse BEFORE INSERT ON platform_events
    FOR EACH ROW EXECUTE FUNCTION pe_test_refuse();
"""
# The connection dies in the middle of the request's transaction.
DISCONNECT = """
CREATE FUNCTION pe_test_disconnect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event_data ->> 'note' = 'cut the line' THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER pe_test_disconnect BEFORE INSERT ON platform_events
    FOR EACH ROW EXECUTE FUNCTION pe_test_disconnect();
"""


def test_a_message_the_store_refuses_is_rejected_alone_and_the_rest_stored(
    ingest_url: str, conn: Conn
) -> None:
    conn.execute(REFUSE)
    batch = [
        segment_track(),
        segment_track(properties={"method": "sso", "note": "refuse me"}),
        segment_track(),
    ]
    status, answer = post(ingest_url + "/v1/batch", {"batch": batch})
    assert status == 200, answer
    assert [r["status"] for r in answer["results"]] == ["accepted", "rejected", "accepted"]
    error = answer["results"][1]["error"]
    assert (error["code"], error["field"]) == ("unstorable", "message")
    assert "22000" in error["message"] and "planted" not in error["message"]
    assert conn.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 2}
    dead = conn.execute(
        "SELECT reason_code, message_id FROM platform_events_dead_letter"
    ).fetchall()
    assert dead == [{"reason_code": "unstorable", "message_id": batch[1]["messageId"]}]


def test_a_connection_lost_mid_write_answers_503_and_stores_nothing(
    ingest_url: str, conn: Conn
) -> None:
    conn.execute(DISCONNECT)
    batch = [
        segment_track(),
        segment_track(userId=None, anonymousId=None),  # rejected: would be dead-lettered
        segment_track(properties={"method": "sso", "note": "cut the line"}),
    ]
    status, answer = post(ingest_url + "/v1/batch", {"batch": batch})
    assert status == 503 and answer["error"]["code"] == "unavailable"
    for table in ("platform_events", "platform_event_delivery", "platform_events_dead_letter"):
        assert conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone() == {"n": 0}
    # The pool replaced the dead connection: the SDK's retry (without the fault) is stored.
    conn.execute("DROP FUNCTION pe_test_disconnect() CASCADE")
    status, answer = post(ingest_url + "/v1/batch", {"batch": batch})
    assert status == 200 and answer["accepted"] == 2 and answer["rejected"] == 1
