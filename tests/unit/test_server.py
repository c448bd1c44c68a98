"""server.py: the serve token check."""

from __future__ import annotations

from platform_events.server import authorized


def test_only_the_exact_bearer_token_is_authorized_under_any_case_of_the_scheme() -> None:
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):  # RFC 7235: case-insensitive
        assert authorized(f"{scheme} s3cret", "s3cret")
    for header in (
        None,
        "",
        "s3cret",
        "Basic s3cret",
        "Bearer s3cre",
        "Bearer s3cretx",
        "Bearers3cret",
        "Bearer ",
        "Bearer s3cret\udc80",
    ):
        assert not authorized(header, "s3cret")
