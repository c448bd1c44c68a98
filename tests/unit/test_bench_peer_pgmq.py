"""bench/peer_pgmq.py: pgmq's SQL comes from the installed wheel of the pinned release."""

from __future__ import annotations

import pytest

from bench import peer_pgmq


def test_the_install_script_is_the_pinned_wheels_and_defines_what_the_bench_calls() -> None:
    script, release = peer_pgmq.install_sql()
    for function in ("pgmq.send_batch(", "pgmq.read(", "pgmq.archive(", "pgmq.create("):
        assert f"CREATE FUNCTION {function}" in script, function
    assert release[0].isdigit()


def test_another_installed_release_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peer_pgmq, "VERSION", "0.0.1")
    with pytest.raises(RuntimeError, match=r"pins 0\.0\.1"):
        peer_pgmq.install_sql()
