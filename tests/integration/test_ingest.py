"""ingest_events over real HTTP (the WSGI app in a thread) into a real Postgres."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from platform_events.config import Settings, load_settings
from platform_events.db import Conn
from platform_events.ingest.http import wsgi_app

WRITE_KEY = "wk_test_123"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def start_ingest(settings: Settings) -> tuple[str, WSGIServer]:
    server = make_server("127.0.0.1", 0, wsgi_app(settings), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture
def ingest_settings(settings: Settings) -> Settings:
    return load_settings(**{**settings.model_dump(), "ingest_write_keys": f"other_key,{WRITE_KEY}"})


@pytest.fixture
def ingest_url(ingest_settings: Settings) -> Iterator[str]:
    url, server = start_ingest(ingest_settings)
    yield url
    server.shutdown()
    server.server_close()


def post(
    url: str,
    body: Any,
    *,
    key: str | None = WRITE_KEY,
    gzipped: bool = False,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if gzipped:
        data = gzip.compress(data)
        sent["Content-Encoding"] = "gzip"
    if key is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    request = urllib.request.Request(url, data=data, headers=sent, method="POST")  # noqa: S310 - local http URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def track(event: str, properties: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "properties": properties,
        "userId": "user_1",
        "messageId": str(uuid.uuid4()),
        **fields,
    }


PROJECT = {"project_id": "p1", "title": "Landing page", "budget": 1200}


def test_a_valid_batch_is_stored_with_context_as_metadata(ingest_url: str, conn: Conn) -> None:
    message = track(
        "Project Created",
        PROJECT,
        timestamp="2024-05-01T10:00:00Z",
        context={
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0",
            "ip": "203.0.113.77",
            "locale": "fr-FR",
            "sessionId": "sess-1",
        },
    )
    status, answer = post(
        ingest_url + "/v1/batch",
        {"batch": [message]},
        headers={"X-Client-Region": "FR", "X-Client-City": "Lyon"},
    )
    assert status == 200, answer
    assert answer["accepted"] == 1
    row = conn.execute("SELECT * FROM platform_events").fetchone()
    assert row is not None
    assert str(row["event_id"]) == answer["results"][0]["event_id"]
    assert row["metadata"]["message_id"] == message["messageId"]
    assert row["event_type"] == "project.created" and row["user_id"] == "user_1"
    assert row["session_id"] == "sess-1"
    assert row["occurred_at"].isoformat() == "2024-05-01T10:00:00+00:00"
    assert row["metadata"]["geo"] == {"country": "FR", "city": "Lyon"}
    assert row["metadata"]["user_agent"].startswith("Mozilla/5.0")
    assert "ip" not in row["metadata"]  # INGEST_IP_PRIVACY=drop by default


def test_a_resent_message_is_a_duplicate_and_non_uuid_ids_map_stably(
    ingest_url: str, conn: Conn
) -> None:
    message = track("user.login", {"method": "sso"}, messageId="ajs-42")
    first = post(ingest_url + "/v1/batch", {"batch": [message]})[1]
    again = post(ingest_url + "/v1/batch", {"batch": [message, message]})[1]
    assert first["results"][0]["status"] == "accepted"
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert again["results"][0]["event_id"] == first["results"][0]["event_id"]
    assert conn.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 1}


def test_a_partially_invalid_batch_answers_each_message(ingest_url: str, conn: Conn) -> None:
    batch = [
        track("Review Posted", {"review_id": "r", "project_id": "p", "rating": 5}),
        track("Review Posted", {"review_id": "r", "project_id": "p", "rating": 9}),
        track("Wishlist Shared", {"items": 3}),
        {**track("user.login", {"method": "sso"}), "userId": None},
        "not an object",
        track("x", {"event_type": "user.logout"}),
    ]
    status, answer = post(ingest_url + "/v1/batch", {"batch": batch})
    assert status == 200
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["accepted", "rejected", "quarantined", "rejected", "rejected", "accepted"]
    assert answer["results"][1]["error"]["field"] == "event_data.rating"
    assert answer["results"][3]["error"]["field"] == "userId"
    assert (answer["accepted"], answer["rejected"], answer["quarantined"]) == (2, 3, 1)
    held = conn.execute(
        "SELECT event_type, source_name, reason FROM platform_events_quarantine"
    ).fetchall()
    assert (
        held[0]["event_type"] == "wishlist.shared" and held[0]["source_name"] == "Wishlist Shared"
    )
    assert "unknown event type" in held[0]["reason"]
    assert conn.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 2}


def test_gzip_bodies_are_accepted(ingest_url: str) -> None:
    body = {"batch": [track("user.logout", {"reason": "user"})]}
    status, answer = post(ingest_url + "/v1/batch", body, gzipped=True)
    assert (status, answer["accepted"]) == (200, 1)


def test_segment_limits_answer_clear_400s(ingest_url: str) -> None:
    big_message = track("user.logout", {"padding": "x" * 40_000})
    status, answer = post(ingest_url + "/v1/batch", {"batch": [big_message]})
    assert status == 200 and answer["results"][0]["error"]["code"] == "too_large"
    status, answer = post(ingest_url + "/v1/track", big_message)
    assert status == 400 and answer["error"]["code"] == "too_large"
    batch = [track("user.logout", {"padding": "x" * 20_000}) for _ in range(30)]
    status, answer = post(ingest_url + "/v1/batch", {"batch": batch})
    assert status == 400 and answer["error"]["code"] == "too_large"
    # A small gzip body that inflates past the limit is refused without inflating it all.
    bomb = {"batch": [track("user.logout", {"padding": "0" * 5_000_000})]}
    status, answer = post(ingest_url + "/v1/batch", bomb, gzipped=True)
    assert status == 400 and answer["error"]["code"] == "too_large"


def test_malformed_bodies_answer_400(ingest_url: str) -> None:
    assert post(ingest_url + "/v1/batch", None, raw=b"{not json")[0] == 400
    assert post(ingest_url + "/v1/batch", {"batch": []})[1]["error"]["field"] == "batch"
    status, answer = post(
        ingest_url + "/v1/batch",
        None,
        raw=b"\x1f\x8b garbage",
        headers={"Content-Encoding": "gzip"},
    )
    assert status == 400 and answer["error"]["code"] == "invalid_body"


def test_wrong_or_missing_write_keys_answer_401(ingest_url: str, conn: Conn) -> None:
    body = {"batch": [track("user.logout", {})]}
    assert post(ingest_url + "/v1/batch", body, key="wrong")[0] == 401
    assert post(ingest_url + "/v1/batch", body, key=None)[0] == 401
    assert post(ingest_url + "/v1/batch", None, raw=b"{bad", key=None)[0] == 401
    assert post(ingest_url + "/v1/batch", {**body, "writeKey": WRITE_KEY}, key=None)[0] == 200
    assert conn.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 1}


def test_behind_a_gateway_the_write_key_comes_from_x_forwarded_authorization(
    ingest_url: str, conn: Conn
) -> None:
    def basic(key: str) -> str:
        return "Basic " + base64.b64encode(f"{key}:".encode()).decode()

    body = {"batch": [track("user.logout", {})]}
    gateway = {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.gateway-oidc-token.sig"}
    # The gateway's own token replaced the caller's header: the key travels forwarded.
    forwarded = {**gateway, "X-Forwarded-Authorization": basic(WRITE_KEY)}
    assert post(ingest_url + "/v1/batch", body, key=None, headers=forwarded)[0] == 200
    wrong = {**gateway, "X-Forwarded-Authorization": basic("wrong")}
    assert post(ingest_url + "/v1/batch", body, key=None, headers=wrong)[0] == 401
    assert post(ingest_url + "/v1/batch", body, key=None, headers=gateway)[0] == 401
    assert conn.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 1}


def test_ingest_without_configured_keys_refuses_everything(settings: Settings) -> None:
    url, server = start_ingest(settings)
    try:
        status, answer = post(url + "/v1/batch", {"batch": [track("user.logout", {})]})
    finally:
        server.shutdown()
        server.server_close()
    assert status == 401 and "INGEST_WRITE_KEYS" in answer["error"]["message"]


def test_identify_and_page_calls_map_to_their_event_types(ingest_url: str, conn: Conn) -> None:
    identify = {"userId": "user_7", "traits": {"plan": "pro"}, "messageId": str(uuid.uuid4())}
    page = {
        "anonymousId": "anon-1",
        "name": "Pricing",
        "properties": {"path": "/pricing", "title": "Pricing"},
        "messageId": str(uuid.uuid4()),
    }
    assert post(ingest_url + "/v1/identify", identify)[0] == 200
    assert post(ingest_url + "/v1/page", page)[0] == 200
    rows = conn.execute(
        "SELECT event_type, user_id, event_data, metadata->>'anonymous_id' AS anon "
        "FROM platform_events ORDER BY event_type"
    ).fetchall()
    assert rows[0]["event_type"] == "page.viewed" and rows[0]["anon"] == "anon-1"
    assert rows[0]["event_data"] == {"path": "/pricing", "title": "Pricing", "name": "Pricing"}
    assert rows[1]["event_type"] == "user.identified" and rows[1]["event_data"] == {
        "traits": {"plan": "pro"}
    }


def test_truncate_privacy_keeps_only_the_network(settings: Settings, conn: Conn) -> None:
    truncating = load_settings(
        **{**settings.model_dump(), "ingest_write_keys": WRITE_KEY, "ingest_ip_privacy": "truncate"}
    )
    url, server = start_ingest(truncating)
    try:
        post(url + "/v1/track", track("user.logout", {}, context={"ip": "203.0.113.77"}))
    finally:
        server.shutdown()
        server.server_close()
    row = conn.execute("SELECT metadata FROM platform_events").fetchone()
    assert row is not None and row["metadata"]["ip"] == "203.0.113.0"


def test_one_message_id_under_two_write_keys_is_two_events_and_a_retry_is_one(
    ingest_url: str, conn: Conn
) -> None:
    for message_id in (str(uuid.uuid4()), "ajs-shared-7"):
        message = track("user.login", {"method": "sso"}, messageId=message_id)
        answers = [
            post(ingest_url + "/v1/batch", {"batch": [message]}, key=key)[1]["results"][0]
            for key in (WRITE_KEY, "other_key", WRITE_KEY, "other_key")
        ]
        assert [a["status"] for a in answers] == ["accepted", "accepted", "duplicate", "duplicate"]
        assert answers[0]["event_id"] != answers[1]["event_id"]
        assert answers[0]["event_id"] == answers[2]["event_id"]
        stored = conn.execute(
            "SELECT count(*) AS n FROM platform_events WHERE metadata->>'message_id' = %s",
            (message_id,),
        ).fetchone()
        assert stored == {"n": 2}


def test_unknown_routes_and_methods_are_refused(ingest_url: str) -> None:
    assert post(ingest_url + "/v1/alias", {})[0] == 404
    request = urllib.request.Request(ingest_url + "/v1/batch", method="GET")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert caught.value.code == 405


def test_the_client_http_mode_delivers_through_ingest(
    ingest_settings: Settings, ingest_url: str, conn: Conn
) -> None:
    from platform_events.client import Analytics

    with Analytics(
        ingest_settings, mode="http", endpoint=ingest_url, write_key=WRITE_KEY, debounce={}
    ) as analytics:
        analytics.init_session("user_5", user_agent="Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)")
        event_id = analytics.track_payment_completed("pay1", 99.5, project_id="p1")
        assert analytics.flush(timeout=20)
        assert analytics.stats.accepted == 2
    row = conn.execute(
        "SELECT user_id, session_id, metadata FROM platform_events"
        " WHERE metadata->>'message_id' = %s",
        (str(event_id),),
    ).fetchone()
    assert row is not None and row["user_id"] == "user_5"
    assert row["metadata"]["device_type"] == "tablet"
    assert row["metadata"]["source"] == "segment"
