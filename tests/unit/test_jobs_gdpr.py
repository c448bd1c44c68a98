"""jobs/gdpr.py: the erasure audit's pseudonyms."""

from __future__ import annotations

import hashlib
import hmac

from platform_events.jobs.gdpr import key_id, user_key


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
