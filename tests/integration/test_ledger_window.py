"""The delivery ledger bounded by the dedupe window (migration 0062): a ring of weekly slots.

Idempotency on event_id holds for the window (the current slot's primary key, the previous slot
checked by the emit); the slot older than that is recycled by TRUNCATE once its undelivered rows
have moved to the held slot; an id re-sent after the window is stored again and still reaches
the warehouse once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from tests.builders import event
from tests.integration.streaming import warehouse

WINDOW = "make_interval(days => platform_events_limit('dedupe_window_days'))"
WINDOW_SECONDS = "platform_events_limit('dedupe_window_days') * 86400"


def _slots(conn: Conn) -> dict[str, int]:
    """current, previous and next (the one recycled) slot numbers, as the database says."""
    row = conn.execute(
        f"SELECT platform_events_ledger_slot(now()) AS current, "
        f"platform_events_ledger_slot(now() - {WINDOW}) AS previous"
    ).fetchone()
    assert row is not None
    current, previous = int(row["current"]), int(row["previous"])  # type: ignore[call-overload]
    return {"current": current, "previous": previous, "next": 3 - current - previous}


def _ledger_row(conn: Conn, periods_ago: int, status: str, *, slot: int | None = None) -> uuid.UUID:
    """A ledger row (and its event) received an hour into the period ``periods_ago`` periods
    before this one (0: this one), in that period's slot (or in ``slot``, the held one)."""
    event_id = uuid.uuid4()
    row = conn.execute(
        f"SELECT to_timestamp(floor((extract(epoch FROM now()) - 345600) / ({WINDOW_SECONDS})) "
        f"* ({WINDOW_SECONDS}) + 345600) - %s + interval '1 hour' AS at",
        (timedelta(days=7 * periods_ago),),
    ).fetchone()
    assert row is not None
    received = row["at"]
    conn.execute(
        "INSERT INTO platform_events (event_id, event_type, event_category, schema_version, "
        "occurred_at, received_at, retention_class, event_data) "
        "SELECT %s, 'user.login', 'user_activity', 1, %s, %s, s.retention::text, "
        "'{\"method\": \"sso\"}' FROM event_schemas s WHERE s.event_type = 'user.login'",
        (event_id, received, received),
    )
    conn.execute(
        "INSERT INTO platform_event_delivery (event_id, received_at, event_type, status, "
        "ledger_slot) VALUES (%s, %s, 'user.login', %s, "
        "coalesce(%s, platform_events_ledger_slot(%s)))",
        (event_id, received, status, slot, received),
    )
    return event_id


def _emit(conn: Conn, event_id: uuid.UUID, **overrides: Any) -> str:
    body = event("user.login", event_id=str(event_id), event_data={"method": "sso"}, **overrides)
    sent = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}
    row = conn.execute(
        "SELECT status FROM emit_platform_events(%s)",
        (Jsonb([{k: v for k, v in sent.items() if v is not None}]),),
    ).fetchone()
    assert row is not None
    return str(row["status"])


def test_an_id_is_a_duplicate_for_the_window_and_stored_again_after_it(conn: Conn) -> None:
    last_week = _ledger_row(conn, 1, "delivered")
    long_ago = _ledger_row(conn, 2, "delivered")
    assert _emit(conn, last_week) == "duplicate"
    # The single-event path refuses it the same way: no second row.
    conn.execute(
        "SELECT emit_platform_event('user.login', '{\"method\": \"sso\"}', NULL, NULL, '{}', "
        "NULL, %s)",
        (last_week,),
    )
    assert _emit(conn, long_ago) == "accepted"  # past the window: documented, stored again
    rows = conn.execute(
        "SELECT event_id, count(*) AS n FROM platform_events WHERE event_id = ANY (%s) GROUP BY 1",
        ([last_week, long_ago],),
    ).fetchall()
    assert {r["event_id"]: r["n"] for r in rows} == {last_week: 1, long_ago: 2}
    fresh = uuid.uuid4()
    assert _emit(conn, fresh) == "accepted"
    assert _emit(conn, fresh) == "duplicate"


def test_the_old_slot_is_recycled_its_undelivered_rows_held_until_delivered(conn: Conn) -> None:
    slots = _slots(conn)
    delivered = [_ledger_row(conn, 2, "delivered") for _ in range(3)]
    pending = _ledger_row(conn, 2, "pending")
    failed = _ledger_row(conn, 2, "failed")
    in_flight = _ledger_row(conn, 2, "processing")
    recent = _ledger_row(conn, 1, "delivered")
    held = _ledger_row(conn, 5, "failed", slot=3)

    first = conn.execute("SELECT * FROM platform_events_recycle_ledger()").fetchone()
    assert first == {"slot": slots["next"], "outcome": "in_flight", "held": 0}
    conn.execute(
        "UPDATE platform_event_delivery SET status = 'delivered' WHERE event_id = %s", (in_flight,)
    )
    second = conn.execute("SELECT * FROM platform_events_recycle_ledger()").fetchone()
    assert second == {"slot": slots["next"], "outcome": "recycled", "held": 2}
    rows = conn.execute(
        "SELECT event_id, ledger_slot, status FROM platform_event_delivery"
    ).fetchall()
    assert {(r["event_id"], r["ledger_slot"], r["status"]) for r in rows} == {
        (pending, 3, "pending"),
        (failed, 3, "failed"),
        (held, 3, "failed"),
        (recent, slots["previous"], "delivered"),
    }
    status = conn.execute(
        "SELECT event_id, processing_status FROM platform_events_with_status"
    ).fetchall()
    shown = {r["event_id"]: r["processing_status"] for r in status}
    assert {shown[i] for i in [*delivered, in_flight, recent]} == {"delivered"}
    assert (shown[pending], shown[failed]) == ("pending", "failed")
    # The held row is still claimed and delivered like any other.
    claimed = conn.execute(
        "SELECT DISTINCT event_id FROM claim_delivery_batch(100, interval '1 minute', 3, 'test')"
    ).fetchall()
    assert {r["event_id"] for r in claimed} == {pending}
    again = conn.execute("SELECT * FROM platform_events_recycle_ledger()").fetchone()
    assert again == {"slot": slots["next"], "outcome": "empty", "held": 0}


def test_an_event_resent_after_the_window_is_in_the_warehouse_once(
    settings: Settings, conn: Conn
) -> None:
    event_id = uuid.uuid4()
    assert _emit(conn, event_id) == "accepted"
    fast = settings.model_copy(update={"stream_retry_initial_seconds": 0.0})
    assert stream.run(stream.StreamRequest(), fast)["delivered"] == 1
    # Three weeks on: the event happened and arrived three weeks ago, and its ledger row has
    # aged out of the window (recycled with its slot).
    weeks = timedelta(days=21)
    conn.execute(
        "UPDATE platform_events SET received_at = received_at - %s, occurred_at = occurred_at - %s",
        (weeks, weeks),
    )
    conn.execute("DELETE FROM platform_event_delivery WHERE event_id = %s", (event_id,))
    row = conn.execute(
        "SELECT occurred_at FROM platform_events WHERE event_id = %s", (event_id,)
    ).fetchone()
    assert row is not None
    # The producer's retry carries the same event: the store still finds it.
    assert _emit(conn, event_id, occurred_at=row["occurred_at"]) == "duplicate"
    assert stream.run(stream.StreamRequest(), fast)["claimed"] == 0
    rows = warehouse(
        settings, "SELECT count(*) AS n FROM events WHERE event_id = $id", {"id": str(event_id)}
    )
    assert rows[0]["n"] == 1
    # The same id for another moment, after the window, is another event (documented).
    assert _emit(conn, event_id) == "accepted"
