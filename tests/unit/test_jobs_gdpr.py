"""The erasure audit's pseudonyms and the serve token check."""

from __future__ import annotations

import hashlib
import hmac

from platform_events.jobs.gdpr import key_id, user_key
from platform_events.server import authorized


def test_the_audit_stores_a_keyed_hash_never_the_id() -> None:
    key = "k" * 32
    pseudonym = user_key(key, "alice@example.com")
    assert pseudonym == hmac.new(key.encode(), b"alice@example.com", hashlib.sha256).hexdigest()
    assert "alice" not in pseudonym and len(pseudonym) == 64
    assert user_key(key, "alice@example.com") == pseudonym
    assert user_key("another key", "alice@example.com") != pseudonym
    assert user_key(key, "bob") != pseudonym


def test_the_key_id_tells_keys_apart_without_revealing_them() -> None:
    assert key_id("a") != key_id("b")
    assert "a" * 5 not in key_id("aaaaa") and len(key_id("a")) == 12


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
