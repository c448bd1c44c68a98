"""Enrichment through a real stream run: users table, sessions, GeoIP database, metadata geo."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from tests.builders import emit
from tests.integration.streaming import USER_AGENTS, statuses, warehouse


@pytest.fixture
def users_table(conn: Conn) -> None:
    """The application's users table, as the default ENRICH_USERS_QUERY expects it."""
    conn.execute(
        "CREATE TABLE users (id bigint PRIMARY KEY, role text NOT NULL, created_at timestamptz)"
    )
    conn.execute(
        "INSERT INTO users VALUES (1, 'client', now() - interval '40 days'), "
        "(2, 'freelancer', now() - interval '2 days')"
    )


def _rows(settings: Settings) -> dict[str, dict[str, object]]:
    rows = warehouse(settings, "SELECT * EXCLUDE (event_data, metadata) FROM events")
    return {str(r["event_id"]): r for r in rows}


def test_user_role_and_tenure_come_from_the_users_table(
    settings: Settings, conn: Conn, users_table: None
) -> None:
    a = emit(conn, "user.login", event_data={"method": "password"}, user_id="1")
    b = emit(conn, "user.login", event_data={"method": "password"}, user_id="2")
    c = emit(conn, "user.login", event_data={"method": "password"}, user_id="999")
    stream.run(stream.StreamRequest(), settings)
    rows = _rows(settings)
    assert (rows[str(a)]["user_role"], rows[str(a)]["user_tenure_days"]) == ("client", 40)
    assert (rows[str(b)]["user_role"], rows[str(b)]["user_tenure_days"]) == ("freelancer", 2)
    assert (rows[str(c)]["user_role"], rows[str(c)]["user_tenure_days"]) == (None, None)


def test_a_missing_users_table_gives_nulls_and_one_warning_but_delivers_everything(
    settings: Settings, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(30):
        emit(conn, "user.login", event_data={"method": "password"}, user_id="1")
    custom = settings.model_copy(
        update={
            "enrich_users_query": "SELECT id AS user_id, role, created_at FROM no_such_users "
            "WHERE id = ANY(%(user_ids)s)"
        }
    )
    with caplog.at_level(logging.WARNING):
        answer = stream.run(stream.StreamRequest(batch_size=10), custom)
    assert answer["delivered"] == 30 and statuses(conn) == {"delivered": 30}
    warnings = [r for r in caplog.records if "user enrichment disabled" in r.getMessage()]
    assert len(warnings) == 1
    assert {r["user_role"] for r in _rows(settings).values()} == {None}


def test_events_are_numbered_within_their_session_with_its_first_seen_time(
    settings: Settings, conn: Conn
) -> None:
    ids = [
        emit(conn, "user.login", event_data={"method": "password"}, session_id="s-1")
        for _ in range(5)
    ]
    emit(conn, "user.login", event_data={"method": "password"}, session_id=None)
    stream.run(stream.StreamRequest(batch_size=2), settings)  # sessions span batches
    rows = _rows(settings)
    assert [rows[str(i)]["session_event_index"] for i in ids] == [1, 2, 3, 4, 5]
    firsts = {rows[str(i)]["session_first_seen_at"] for i in ids}
    assert len(firsts) == 1 and None not in firsts
    sessionless = [r for r in rows.values() if r["session_id"] is None]
    assert sessionless[0]["session_event_index"] is None


def test_location_comes_from_metadata_geo_or_the_geoip_database(
    settings: Settings, conn: Conn, tmp_path: Path
) -> None:
    database = tmp_path / "city.mmdb"
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    writer.insert_network(
        IPSet(["81.2.69.0/24"]),
        {
            "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
            "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
            "city": {"names": {"en": "London"}},
        },
    )
    writer.to_db_file(str(database))
    from_lb = emit(
        conn,
        "user.login",
        event_data={"method": "password"},
        metadata={"geo": {"country": "DE", "region": "BE", "city": "Berlin"}, "ip": "81.2.69.7"},
    )
    from_ip = emit(
        conn,
        "user.login",
        event_data={"method": "password"},
        metadata={"ip": "81.2.69.7", "user_agent": USER_AGENTS[1]},
    )
    unknown = emit(
        conn, "user.login", event_data={"method": "password"}, metadata={"ip": "10.0.0.1"}
    )
    geo_settings = settings.model_copy(update={"geoip_database": database})
    stream.run(stream.StreamRequest(), geo_settings)
    rows = _rows(settings)
    place = lambda e: (rows[str(e)]["country"], rows[str(e)]["region"], rows[str(e)]["city"])  # noqa: E731
    assert place(from_lb) == ("DE", "BE", "Berlin")
    assert place(from_ip) == ("GB", "ENG", "London")
    assert place(unknown) == (None, None, None)
    assert rows[str(from_ip)]["device_type"] == "mobile"


def test_a_broken_geoip_database_does_not_stop_delivery(
    settings: Settings, conn: Conn, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    emit(conn, "user.login", event_data={"method": "password"}, metadata={"ip": "81.2.69.7"})
    answer = stream.run(
        stream.StreamRequest(), settings.model_copy(update={"geoip_database": broken})
    )
    assert answer["delivered"] == 1


def test_payloads_reach_the_warehouse_as_json(settings: Settings, conn: Conn) -> None:
    emit(conn, "payment.completed", metadata={"source": "api"})
    stream.run(stream.StreamRequest(), settings)
    row = warehouse(
        settings, "SELECT event_data->>'currency' AS c, json_type(metadata) AS t FROM events"
    )
    assert row == [{"c": "USD", "t": "OBJECT"}]
