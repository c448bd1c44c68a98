"""The Python client against a real Postgres: batching, exit flush, bounded queue, debounce, retries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from platform_events.client import (
    Analytics,
    Event,
    EventResult,
    PostgresTransport,
    RetryPolicy,
    TransportError,
    build_event,
    write_events,
)
from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.errors import InvalidEvent
from tests.builders import VALID_DATA, counts

REPO = Path(__file__).resolve().parents[2]


def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def test_emitted_events_arrive_in_batches_with_their_metadata(
    settings: Settings, conn: Conn
) -> None:
    with Analytics(settings, batch_size=50, flush_interval=0.2, debounce={}) as analytics:
        session = analytics.init_session(
            "user_1",
            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
        )
        for n in range(120):
            analytics.track_profile_viewed(f"user_{n}", "search")
        assert analytics.flush(timeout=10)
        assert analytics.stats.accepted == 121
        assert analytics.stats.batches >= 3  # 121 events, at most 50 per batch
    row = conn.execute(
        "SELECT count(*) AS n, count(DISTINCT session_id) AS sessions, "
        "min(metadata->>'device_type') AS device, min(user_id) AS user_id FROM platform_events"
    ).fetchone()
    assert row == {"n": 121, "sessions": 1, "device": "mobile", "user_id": "user_1"}
    assert conn.execute("SELECT DISTINCT session_id FROM platform_events").fetchone() == {
        "session_id": session
    }


def test_every_catalogue_type_has_a_typed_track_method() -> None:
    from platform_events.catalog import builtin

    for event_type in builtin().current:
        assert hasattr(Analytics, "track_" + event_type.replace(".", "_")), event_type


def test_an_invalid_event_raises_at_the_call_naming_the_field(
    settings: Settings, conn: Conn
) -> None:
    with Analytics(settings, debounce={}) as analytics:
        with pytest.raises(InvalidEvent) as caught:
            analytics.track_review_posted("r1", "p1", rating=9)
        assert caught.value.field == "event_data.rating"
        with pytest.raises(InvalidEvent) as caught:
            analytics.emit_event("no.such_type", {})
        assert caught.value.field == "event_type"
        assert analytics.flush(timeout=5)
    assert counts(conn) == (0, 0)


def test_write_events_answers_each_event_accepted_duplicate_or_rejected(conn: Conn) -> None:
    good = build_event("user.login", {"method": "sso"}, user_id="u1")
    bad = build_event("user.login", {"method": "sso"}, user_id="u1")
    bad = Event(**{**bad.__dict__, "event_data": {"method": "carrier pigeon"}})
    results = write_events(conn, [good, bad, good])
    assert [r.status for r in results] == ["accepted", "rejected", "duplicate"]
    assert results[1].error_code == "PE005" and results[1].error_field == "event_data.method"
    assert [r.status for r in write_events(conn, [good])] == ["duplicate"]
    assert counts(conn) == (1, 1)


def _mutations() -> list[tuple[str, dict[str, object]]]:
    """Valid payloads of every type and, for each declared field, values breaking each rule."""
    from platform_events.catalog import builtin

    cases: list[tuple[str, dict[str, object]]] = []
    breakers: list[object] = [None, "x" * 6000, -1, 2.5, 10**6, True, [], {}, "carrier pigeon", 7]
    for event_type, entry in builtin().current.items():
        base = dict(VALID_DATA.get(event_type, {}))
        cases.append((event_type, base))
        for spec in entry.fields:
            for value in breakers:
                cases.append((event_type, {**base, spec.name: value}))
            cases.append((event_type, {k: v for k, v in base.items() if k != spec.name}))
    return cases


def test_batch_validation_agrees_with_emit_platform_event_on_every_rule(conn: Conn) -> None:
    cases = _mutations()
    events = [Event(event_type=t, event_data=d, user_id="u", session_id="s") for t, d in cases] + [
        Event(event_type="user.login", event_data={"method": "sso"}, metadata={"x": "y" * 20_000}),
        Event(event_type="user.login", event_data={"method": "sso"}, user_id="u" * 300),
        Event(
            event_type="user.login",
            event_data={"method": "sso"},
            occurred_at=datetime.now(UTC) + timedelta(days=3),
        ),
    ]
    batch = write_events(conn, events)
    for event, result in zip(events, batch, strict=True):
        single = conn.execute(
            "SELECT (platform_event_check(%s, %s::jsonb, %s::jsonb, %s, %s, %s)).error_code AS code",
            (
                event.event_type,
                json.dumps(event.event_data),
                json.dumps(event.metadata),
                event.occurred_at,
                event.user_id,
                event.session_id,
            ),
        ).fetchone()
        assert single is not None
        assert result.error_code == single["code"], (event.event_type, event.event_data)
        assert (result.status == "accepted") == (single["code"] is None)


def test_a_process_that_exits_without_flush_loses_nothing(settings: Settings, conn: Conn) -> None:
    script = textwrap.dedent(
        f"""
        from platform_events.client import Analytics
        from platform_events.config import load_settings
        analytics = Analytics(load_settings(database_url={settings.database_url!r}),
                              flush_interval=30, batch_size=10_000)
        for n in range(500):
            analytics.track_user_login("password", mfa_used=bool(n % 2))
        # no flush, no close: the interpreter exits with everything still queued
        """
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=REPO, timeout=60, capture_output=True
    )
    assert counts(conn) == (500, 500)


class _StuckTransport:
    """A transport that blocks until released, so the queue fills behind it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[Event] = []

    def send(self, events: Sequence[Event]) -> list[EventResult]:
        self.release.wait(10)
        self.sent.extend(events)
        return [EventResult(n + 1, e.event_id, "accepted") for n, e in enumerate(events)]

    def close(self) -> None:
        self.release.set()


def test_a_full_queue_drops_and_counts_instead_of_blocking_or_growing(settings: Settings) -> None:
    transport = _StuckTransport()
    analytics = Analytics(
        settings, transport=transport, max_queue_size=10, batch_size=1, debounce={}
    )
    started = time.monotonic()
    for _ in range(100):
        analytics.track_user_logout()
    assert time.monotonic() - started < 5  # never blocked on the stuck store
    assert analytics.stats.dropped >= 100 - 10 - 2  # queue + the batch in flight
    assert analytics.worker.pending() <= 11
    transport.release.set()
    analytics.close()
    assert len(transport.sent) == 100 - analytics.stats.dropped


def test_debounced_types_keep_only_the_last_event_of_a_burst(
    settings: Settings, conn: Conn
) -> None:
    with Analytics(settings, debounce={"search.performed": 0.3}, flush_interval=0.1) as analytics:
        analytics.init_session("user_9")
        for prefix in ("p", "py", "pyt", "pyth", "python"):
            analytics.track_search_performed(prefix, results_count=len(prefix))
        analytics.track_search_performed(
            "other user",
            1,
        )  # same key: replaces again
        analytics.emit_event(
            "search.performed", {"query": "s2", "results_count": 0}, session_id="s2"
        )
        wait_for(lambda: analytics.stats.accepted == 3)  # session.started + 2 searches
        assert analytics.stats.debounced == 5
    rows = conn.execute(
        "SELECT event_data->>'query' AS q FROM platform_events WHERE event_type = 'search.performed' ORDER BY 1"
    ).fetchall()
    assert [r["q"] for r in rows] == ["other user", "s2"]


class _FlakyTransport(PostgresTransport):
    """Stores the batch, then reports a lost connection the first ``failures`` times."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures
        self.calls = 0

    def send(self, events: Sequence[Event]) -> list[EventResult]:
        self.calls += 1
        results = super().send(events)
        if self.calls <= self.failures:
            raise TransportError("connection lost after commit", retryable=True)
        return results


def test_retries_after_an_ambiguous_failure_store_each_event_once(
    settings: Settings, conn: Conn
) -> None:
    assert settings.database_url is not None
    transport = _FlakyTransport(settings.database_url, failures=2)
    with Analytics(
        settings,
        transport=transport,
        retry=RetryPolicy(max_attempts=5, base_seconds=0.01),
        debounce={},
    ) as analytics:
        ids = [analytics.track_mfa_enabled("totp") for _ in range(20)]
        assert analytics.flush(timeout=10)
        assert analytics.stats.retries == 2
        assert analytics.stats.duplicate == 20  # the third attempt found them all stored
    assert counts(conn) == (20, 20)
    stored = conn.execute("SELECT event_id FROM platform_events").fetchall()
    assert {r["event_id"] for r in stored} == set(ids)


def test_an_unreachable_store_never_reaches_the_caller(settings: Settings) -> None:
    unreachable = PostgresTransport("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    analytics = Analytics(
        settings,
        transport=unreachable,
        retry=RetryPolicy(max_attempts=2, base_seconds=0.01),
        debounce={},
    )
    event_id = analytics.track_user_login("password")
    assert isinstance(event_id, uuid.UUID)
    assert analytics.flush(timeout=20)
    assert analytics.stats.failed == 1
    analytics.close()


def test_query_events_pages_newest_first_with_filters(settings: Settings, conn: Conn) -> None:
    base = datetime(2024, 5, 1, tzinfo=UTC)
    events = [
        build_event(
            "user.login",
            {"method": "sso"},
            user_id=f"u{n % 2}",
            occurred_at=base + timedelta(minutes=n),
        )
        for n in range(7)
    ]
    write_events(conn, events)
    with Analytics(settings, debounce={}) as analytics:
        first = analytics.query_events({"user_id": "u0"}, {"limit": 3})
        assert [e["occurred_at"] for e in first.events] == [
            base + timedelta(minutes=m) for m in (6, 4, 2)
        ]
        second = analytics.query_events(
            {"user_id": "u0"}, {"limit": 3, "cursor": first.next_cursor}
        )
        assert [e["occurred_at"] for e in second.events] == [base]
        assert second.next_cursor is None
        contained = analytics.query_events(
            {"data_contains": {"method": "sso"}, "event_types": ["user.login"]}
        )
        assert len(contained.events) == 7


def test_dashboard_and_aggregations_read_the_aggregated_tables(
    settings: Settings, conn: Conn
) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    write_events(
        conn, [build_event("user.login", {"method": "sso"}, user_id="u", occurred_at=hour)]
    )
    ahead = hour + timedelta(hours=13)  # a client whose clock is 12 hours ahead (accepted: < 1 day)
    write_events(
        conn, [build_event("user.login", {"method": "sso"}, user_id="v", occurred_at=ahead)]
    )
    for start in (hour, ahead):
        conn.execute("SELECT aggregate_events('hour', %s, %s)", (start, start + timedelta(hours=1)))
    conn.execute("SELECT update_realtime_metric('events_total', 5)")
    with Analytics(settings, debounce={}) as analytics:
        dashboard = analytics.get_dashboard_metrics()
        assert dashboard["last_24h"]["events"] == 1  # the future bucket is not the last 24 h
        assert dashboard["last_24h"]["by_type"][0]["last_bucket"] == hour
        assert dashboard["realtime"][0]["metric_name"] == "events_total"
        buckets = analytics.query_aggregations(
            "user.login", "hour", (hour, hour + timedelta(hours=1))
        )
        assert [(b["bucket_start"], b["event_count"]) for b in buckets] == [(hour, 1)]
