"""Enrichment as pure functions: user tenure, device, location, sessions, never a lost event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from platform_events.pipeline.enrich import Geo, SessionFacts, UserFacts, enrich, tenure_days

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def columns(n: int = 1, **overrides: list[Any]) -> dict[str, list[Any]]:
    base: dict[str, list[Any]] = {
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": ["u1"] * n,
        "occurred_at": [NOW] * n,
        "user_agent": [None] * n,
        "meta_device_type": [None] * n,
        "meta_browser": [None] * n,
        "meta_os": [None] * n,
        "geo_country": [None] * n,
        "geo_region": [None] * n,
        "geo_city": [None] * n,
        "ip": [None] * n,
    }
    base.update(overrides)
    return base


def test_tenure_is_whole_days_since_sign_up_and_never_negative() -> None:
    assert tenure_days(NOW - timedelta(days=10, hours=3), NOW) == 10
    assert tenure_days(NOW + timedelta(days=1), NOW) == 0
    assert tenure_days(None, NOW) is None


def test_user_facts_fill_role_and_tenure_and_unknown_users_get_nulls() -> None:
    out = enrich(
        columns(2, user_id=["u1", "ghost"]),
        users={"u1": UserFacts("freelancer", NOW - timedelta(days=30))},
        sessions={},
    )
    assert out["user_role"] == ["freelancer", None]
    assert out["user_tenure_days"] == [30, None]


def test_device_browser_and_os_come_from_the_user_agent() -> None:
    out = enrich(columns(2, user_agent=[CHROME, IPHONE]), users={}, sessions={})
    assert out["device_type"] == ["desktop", "mobile"]
    assert out["browser"] == ["Chrome", "Mobile Safari"]
    assert out["os"] == ["Windows", "iOS"]


def test_without_a_user_agent_the_metadata_device_facts_are_used() -> None:
    out = enrich(
        columns(1, meta_device_type=["tablet"], meta_browser=["Chrome"], meta_os=["Android"]),
        users={},
        sessions={},
    )
    assert (out["device_type"], out["browser"], out["os"]) == (["tablet"], ["Chrome"], ["Android"])


def test_load_balancer_geo_in_metadata_wins_over_an_ip_lookup() -> None:
    calls: list[str] = []

    def lookup(ip: str) -> Geo:
        calls.append(ip)
        return Geo("FR", "IDF", "Paris")

    out = enrich(
        columns(2, geo_country=["DE", None], geo_city=["Berlin", None], ip=["1.2.3.4", "5.6.7.8"]),
        users={},
        sessions={},
        geo_lookup=lookup,
    )
    assert out["country"] == ["DE", "FR"] and out["city"] == ["Berlin", "Paris"]
    assert calls == ["5.6.7.8"]


def test_ip_lookups_are_cached_per_batch_and_a_failing_lookup_gives_nulls() -> None:
    calls: list[str] = []

    def broken(ip: str) -> Geo:
        calls.append(ip)
        raise OSError("corrupt database")

    out = enrich(columns(3, ip=["9.9.9.9"] * 3), users={}, sessions={}, geo_lookup=broken)
    assert out["country"] == [None, None, None]
    assert calls == ["9.9.9.9"]


def test_session_facts_are_looked_up_by_event() -> None:
    first = NOW - timedelta(minutes=5)
    out = enrich(columns(2), users={}, sessions={"e1": SessionFacts(first, 4)})
    assert out["session_event_index"] == [None, 4]
    assert out["session_first_seen_at"] == [None, first]
