"""``make demo`` end to end on a test database: traffic stored, streamed, enriched, reported."""

from __future__ import annotations

import duckdb
import pytest

from platform_events import demo
from platform_events.config import Settings
from platform_events.db import Conn


def test_demo_delivers_every_event_enriched_with_the_applications_users(
    settings: Settings, conn: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.run(settings, users=40, days=1) == 0
    out = capsys.readouterr().out

    stored = conn.execute("SELECT count(*) AS n FROM platform_events").fetchone()
    assert stored is not None and stored["n"] > 0
    statuses = conn.execute(
        "SELECT status, count(*) AS n FROM platform_event_delivery GROUP BY status"
    ).fetchall()
    assert statuses == [{"status": "delivered", "n": stored["n"]}]
    assert conn.execute("SELECT count(*) AS n FROM users").fetchone() == {"n": 40}

    assert settings.duckdb_path is not None
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as warehouse:
        rows, distinct, roles = warehouse.execute(
            "SELECT count(*), count(DISTINCT event_id), "
            "list(DISTINCT user_role ORDER BY user_role) FILTER (WHERE user_role IS NOT NULL) "
            "FROM events"
        ).fetchone() or (0, 0, [])
        invoices = warehouse.execute(
            "SELECT count(*), list(DISTINCT schema_version) FROM events "
            "WHERE event_type = 'invoice.sent'"
        ).fetchone()
    # The team's own type, added from its file (demo_catalogue/) and shown in the warehouse.
    assert invoices is not None and invoices[0] >= 10 and invoices[1] == [1]
    assert "invoice.sent/1.json applied" in out and "add_type" in out
    assert "a team's own event type" in out
    assert rows == distinct == stored["n"]
    assert set(roles) <= {"client", "freelancer"} and roles
    assert f"{stored['n']} delivered, 0 failed" in out
    assert "(no users table)" not in out
    assert "still pending 0" in out


def test_deleting_an_example_user_queues_their_erasure(settings: Settings, conn: Conn) -> None:
    from platform_events import migrate

    migrate.migrate(conn, include_examples=True)
    demo.add_users(conn, 3)
    conn.execute("DELETE FROM users WHERE id = 'user_000001'")
    queued = conn.execute("SELECT user_id, source FROM user_erasure_queue").fetchall()
    assert [q["user_id"] for q in queued] == ["user_000001"]
