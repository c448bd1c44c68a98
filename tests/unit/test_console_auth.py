"""console/auth.py: the console's sign-in session, CSRF and origin checks (pure)."""

from __future__ import annotations

from platform_events.console import auth

NOW = 1_800_000_000.0


def test_a_session_is_valid_until_it_expires_and_only_under_its_token() -> None:
    session = auth.new_session("token-a", NOW)
    assert auth.valid_session("token-a", session, NOW + auth.SESSION_SECONDS - 1)
    assert not auth.valid_session("token-a", session, NOW + auth.SESSION_SECONDS)
    assert not auth.valid_session("token-b", session, NOW)
    expires, signature = session.split(".")
    longer = f"{int(expires) + 3600}.{signature}"  # an extended expiry breaks the signature
    assert not auth.valid_session("token-a", longer, NOW)
    assert not auth.valid_session("token-a", "garbage", NOW)
    assert not auth.valid_session("token-a", None, NOW)
    assert "token-a" not in session


def test_sign_out_csrf_is_bound_to_the_session() -> None:
    one, two = auth.new_session("t", NOW), auth.new_session("t", NOW + 1)
    assert auth.valid_csrf("t", one, auth.csrf_token("t", one))
    assert not auth.valid_csrf("t", two, auth.csrf_token("t", one))
    assert not auth.valid_csrf("t", one, None)


def test_origin_must_be_this_server_when_sent() -> None:
    assert auth.same_origin(None, "http://127.0.0.1:8080/")
    assert auth.same_origin("http://127.0.0.1:8080", "http://127.0.0.1:8080/")
    assert not auth.same_origin("null", "http://127.0.0.1:8080/")
    assert not auth.same_origin("https://evil.test", "http://127.0.0.1:8080/")
    assert not auth.same_nonce(None, "x") and not auth.same_nonce("x", "y")
    assert auth.same_nonce("x", "x")
