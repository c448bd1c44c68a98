"""The client's location, then its IP minimised: geo first, the address dropped or truncated.

Geo comes from the load balancer when it adds the client's location as request headers (Google
Cloud external Application Load Balancer custom request headers, configured in infra as
``X-Client-Region: {client_region}``, ``X-Client-Region-Subdivision:
{client_region_subdivision}``, ``X-Client-City: {client_city}``), else from ``GEOIP_DATABASE`` (a
MaxMind city database) when configured. It is stored as ``metadata.geo = {"country", "region",
"city"}``. The IP itself is then kept, truncated (IPv4 to /24, IPv6 to /48) or dropped, per
``INGEST_IP_PRIVACY`` (default ``drop``: the address is personal data and geo is already known).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

IpPrivacy = Literal["drop", "truncate", "keep"]

GEO_HEADERS = {
    "country": ("X-Client-Region", "X-AppEngine-Country"),
    "region": ("X-Client-Region-Subdivision", "X-AppEngine-Region"),
    "city": ("X-Client-City", "X-AppEngine-City"),
}


def geo_from_headers(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The load balancer's geo headers (``headers`` keyed in lower case) as a geo dict, or None."""
    geo: dict[str, str] = {}
    for key, names in GEO_HEADERS.items():
        for name in names:
            value = headers.get(name.lower())
            if value and value.strip() not in ("", "?", "ZZ"):
                geo[key] = value.strip()[:100]
                break
    return geo or None


@lru_cache(maxsize=2)
def _reader(path: Path) -> Any:
    import geoip2.database

    return geoip2.database.Reader(str(path))


def geo_from_ip(ip: str, database: Path) -> dict[str, str] | None:
    """Look ``ip`` up in a MaxMind city database; None when unknown or unreadable."""
    try:
        found = _reader(database).city(ip)
    except Exception:  # unknown address, private range, bad database: geo is best effort
        return None
    geo = {
        "country": found.country.iso_code,
        "region": found.subdivisions.most_specific.iso_code if found.subdivisions else None,
        "city": found.city.name,
    }
    return {key: value for key, value in geo.items() if value} or None


def minimise_ip(ip: str, privacy: IpPrivacy) -> str | None:
    """The IP as stored: None (drop), its network (truncate: /24 or /48), or itself (keep)."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if privacy == "drop":
        return None
    if privacy == "keep":
        return str(address)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def client_ip(headers: Mapping[str, str], remote_addr: str | None) -> str | None:
    """The caller's address: the first X-Forwarded-For hop (Google's front end sets it)."""
    forwarded = headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return remote_addr


def network_fields(
    ip: str | None,
    header_geo: dict[str, str] | None,
    *,
    privacy: IpPrivacy,
    geoip_database: Path | None,
) -> dict[str, Any]:
    """The metadata keys for one message: ``geo`` (when known) and ``ip`` (when allowed)."""
    fields: dict[str, Any] = {}
    geo = header_geo
    if geo is None and ip and geoip_database is not None:
        geo = geo_from_ip(ip, geoip_database)
    if geo:
        fields["geo"] = geo
    if ip:
        kept = minimise_ip(ip, privacy)
        if kept is not None:
            fields["ip"] = kept
    return fields
