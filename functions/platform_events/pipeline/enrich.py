"""Enrichment of a claimed batch: user, session, device and location facts (pure functions).

Nothing here can lose an event: every fact is optional and a missing source gives NULLs. The
lookups (users table, session facts, GeoIP) are fetched once per batch by ``pipeline.store`` and
passed in, so this module does no I/O and each fact costs one dict lookup per event.

Metadata keys read (written by the client and by ``ingest_events``; extracted in sql/stream.sql):

==================  =====================================================================
``user_agent``      the client's User-Agent string: device type, browser and OS (ua-parser)
``device_type``,    already-detected device facts, used when there is no ``user_agent``
``browser``, ``os``
``geo``             ``{"country": ISO 3166-1 alpha-2, "region": subdivision, "city": name}``,
                    from Google's load balancer headers (``X-Client-Region``,
                    ``X-Client-Region-Subdivision``, ``X-Client-City``, or App Engine's
                    ``X-AppEngine-Country/Region/City``) or GeoIP at ingest
``ip``              the client address when ingest kept it (``INGEST_IP_PRIVACY``): looked up
                    in ``GEOIP_DATABASE`` when there is no ``geo``
==================  =====================================================================

User facts come from the application's users table through ``ENRICH_USERS_QUERY``; by default::

    SELECT id::text AS user_id, role::text AS role, created_at FROM users
     WHERE id::text = ANY(%(user_ids)s)

The pipeline role needs ``GRANT SELECT (id, role, created_at) ON users TO
platform_events_pipeline``. Without the table (or the grant) user facts are NULL and one warning
is logged per process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from platform_events.device import detect_device


@dataclass(frozen=True)
class UserFacts:
    role: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class SessionFacts:
    first_seen_at: datetime | None
    event_index: int | None


@dataclass(frozen=True)
class Geo:
    country: str | None
    region: str | None
    city: str | None


GeoLookup = Callable[[str], Geo | None]

ENRICHMENT_COLUMNS = (
    "user_role",
    "user_tenure_days",
    "session_event_index",
    "session_first_seen_at",
    "device_type",
    "browser",
    "os",
    "country",
    "region",
    "city",
)

_NO_USER = UserFacts(None, None)
_NO_SESSION = SessionFacts(None, None)
_NO_GEO = Geo(None, None, None)


def tenure_days(created_at: datetime | None, occurred_at: datetime | None) -> int | None:
    """Whole days between sign-up and the event (0 for an event on the sign-up day or before)."""
    if created_at is None or occurred_at is None:
        return None
    if created_at.tzinfo is None or occurred_at.tzinfo is None:
        return None
    return max((occurred_at - created_at).days, 0)


def device_facts(
    user_agent: str | None, device_type: str | None, browser: str | None, os_name: str | None
) -> tuple[str | None, str | None, str | None]:
    """(device_type, browser, os): parsed from the agent, else the metadata's own facts."""
    if user_agent:
        info = detect_device(user_agent)
        kind = "other" if info.device_type == "unknown" else info.device_type
        return kind, info.browser, info.os
    if device_type == "unknown":
        device_type = None
    return device_type, browser, os_name


def enrich(
    columns: Mapping[str, Sequence[Any]],
    *,
    users: Mapping[str, UserFacts],
    sessions: Mapping[str, SessionFacts],
    geo_lookup: GeoLookup | None = None,
) -> dict[str, list[Any]]:
    """The enrichment columns (``ENRICHMENT_COLUMNS``) of a claimed batch, one value per event.

    ``columns`` are the claim's columns (sql ``stream_claim``); ``users`` is keyed by user id and
    ``sessions`` by event id; ``geo_lookup`` resolves an IP (GeoIP) when metadata has no geo.
    """
    out: dict[str, list[Any]] = {name: [] for name in ENRICHMENT_COLUMNS}
    ip_cache: dict[str, Geo] = {}
    for i, event_id in enumerate(columns["event_id"]):
        user_id = columns["user_id"][i]
        user = users.get(user_id, _NO_USER) if user_id is not None else _NO_USER
        out["user_role"].append(user.role)
        out["user_tenure_days"].append(tenure_days(user.created_at, columns["occurred_at"][i]))

        session = sessions.get(event_id, _NO_SESSION)
        out["session_event_index"].append(session.event_index)
        out["session_first_seen_at"].append(session.first_seen_at)

        kind, browser, os_name = device_facts(
            columns["user_agent"][i],
            columns["meta_device_type"][i],
            columns["meta_browser"][i],
            columns["meta_os"][i],
        )
        out["device_type"].append(kind)
        out["browser"].append(browser)
        out["os"].append(os_name)

        geo = _geo(columns, i, geo_lookup, ip_cache)
        out["country"].append(geo.country)
        out["region"].append(geo.region)
        out["city"].append(geo.city)
    return out


def _geo(
    columns: Mapping[str, Sequence[Any]],
    i: int,
    lookup: GeoLookup | None,
    cache: dict[str, Geo],
) -> Geo:
    country, region, city = (
        columns["geo_country"][i],
        columns["geo_region"][i],
        columns["geo_city"][i],
    )
    if country or region or city:
        return Geo(country, region, city)
    ip = columns["ip"][i]
    if not ip or lookup is None:
        return _NO_GEO
    if ip not in cache:
        try:
            cache[ip] = lookup(ip) or _NO_GEO
        except Exception:  # a corrupt database or odd address: location is best effort
            cache[ip] = _NO_GEO
    return cache[ip]


def maxmind_lookup(database: str) -> GeoLookup:
    """A GeoLookup over a MaxMind City (or GeoLite2-City) database file."""
    import geoip2.database
    import geoip2.errors

    reader = geoip2.database.Reader(database)

    def lookup(ip: str) -> Geo | None:
        try:
            found = reader.city(ip)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None
        subdivision = found.subdivisions.most_specific if found.subdivisions else None
        return Geo(
            found.country.iso_code,
            subdivision.iso_code if subdivision is not None else None,
            found.city.name,
        )

    return lookup
