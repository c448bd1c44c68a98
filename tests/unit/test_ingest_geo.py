"""ingest/geo.py: IP minimisation and load-balancer geo headers, without I/O."""

from __future__ import annotations

import pytest

from platform_events.ingest import geo


@pytest.mark.parametrize(
    ("ip", "privacy", "stored"),
    [
        ("203.0.113.77", "drop", None),
        ("203.0.113.77", "truncate", "203.0.113.0"),
        ("203.0.113.77", "keep", "203.0.113.77"),
        ("2001:db8:abcd:12:1:2:3:4", "truncate", "2001:db8:abcd::"),
        ("not an ip", "keep", None),
    ],
)
def test_ip_minimisation_follows_the_privacy_setting(
    ip: str, privacy: str, stored: str | None
) -> None:
    assert geo.minimise_ip(ip, privacy) == stored  # type: ignore[arg-type]


def test_geo_comes_from_load_balancer_headers_before_the_ip_is_dropped() -> None:
    header_geo = geo.geo_from_headers(
        {"x-client-region": "BR", "x-client-region-subdivision": "BR-SP", "x-client-city": "?"}
    )
    assert header_geo == {"country": "BR", "region": "BR-SP"}
    fields = geo.network_fields("198.51.100.1", header_geo, privacy="drop", geoip_database=None)
    assert fields == {"geo": {"country": "BR", "region": "BR-SP"}}
    assert (
        geo.client_ip({"x-forwarded-for": "198.51.100.1, 10.0.0.1"}, "10.0.0.2") == "198.51.100.1"
    )
