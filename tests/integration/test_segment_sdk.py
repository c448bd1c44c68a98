"""The official segment-analytics-python SDK, pointed at a local ingest_events, delivers events."""

from __future__ import annotations

import uuid

from segment.analytics.client import Client

from platform_events.config import Settings, load_settings
from platform_events.db import Conn
from tests.integration.test_ingest import WRITE_KEY, start_ingest


def test_the_segment_sdk_delivers_track_identify_and_page(settings: Settings, conn: Conn) -> None:
    url, server = start_ingest(
        load_settings(**{**settings.model_dump(), "ingest_write_keys": WRITE_KEY})
    )
    errors: list[Exception] = []
    client = Client(
        write_key=WRITE_KEY,
        host=url,
        gzip=True,
        max_retries=2,
        on_error=lambda exc, batch: errors.append(exc),
    )
    try:
        client.identify("user_1", {"plan": "pro"})
        client.track(
            "user_1", "Project Created", {"project_id": "p1", "title": "Site", "budget": 10}
        )
        client.track(
            "user_1",
            "proposal.submitted",
            {"proposal_id": "x", "project_id": "p1", "bid_amount": 5},
        )
        client.track("user_1", "Signed In", {"method": "oauth"}, context={"ip": "198.51.100.4"})
        client.page("user_1", name="Home", properties={"path": "/"})
        client.track("user_1", "Totally New Thing", {"a": 1})
        client.flush()
    finally:
        client.shutdown()
        server.shutdown()
        server.server_close()
    assert errors == []
    rows = conn.execute(
        "SELECT event_type, metadata->'library'->>'name' AS library FROM platform_events "
        "ORDER BY event_type"
    ).fetchall()
    assert [r["event_type"] for r in rows] == [
        "page.viewed",
        "project.created",
        "proposal.submitted",
        "user.identified",
        "user.login",
    ]
    assert {r["library"] for r in rows} == {"analytics-python"}
    held = conn.execute("SELECT event_type, event_id FROM platform_events_quarantine").fetchall()
    assert [r["event_type"] for r in held] == ["totally_new.thing"]
    assert isinstance(held[0]["event_id"], uuid.UUID)
