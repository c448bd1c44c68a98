"""Migration 0062 in place: a store built by 0001..0061, holding events of every category and
month and every delivery state, keeps every event once, in its month and class, and every
delivery state that still matters; then retention drops whole leaves."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from platform_events import migrate
from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.jobs import retention

MONTHS = 36  # of history: past every 1- and 2-year class, inside the 7-year one

# One statement: per type and month of the last MONTHS, four events received on day 3 + k of the
# month (occurred an hour before), with the delivery states in turn; every seventh is a late
# arrival (occurred 400 days before it was received). Forty months back (outside every
# partition 0002 made) lands in the default partition; two days ago, inside the dedupe window.
HISTORY = """
INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                             session_id, occurred_at, received_at, event_data, metadata)
SELECT gen_random_uuid(), s.event_type, s.category, 1, 'user_' || (g.m * 4 + g.k) %% 17,
       'sess_' || g.m, g.received - CASE WHEN (g.m + g.k) %% 7 = 0 THEN interval '400 days'
                                         ELSE interval '1 hour' END,
       g.received, jsonb_build_object('n', g.m * 4 + g.k), jsonb_build_object('source', 'history')
  FROM (SELECT DISTINCT ON (event_type) event_type, category FROM event_schemas
         ORDER BY event_type, version DESC) s
 CROSS JOIN LATERAL (
       SELECT m, k, date_trunc('month', now() - make_interval(months => m))
                    + make_interval(days => 2 + k, hours => k) AS received
         FROM generate_series(0, %(months)s) AS m, generate_series(0, 3) AS k
        UNION ALL
       SELECT 40, 0, date_trunc('month', now() - interval '40 months') + interval '3 days'
        UNION ALL  -- two days ago: inside the dedupe window whatever the day of the month
       SELECT -1, 9, now() - interval '2 days') g
 WHERE g.received < now() - interval '1 minute'
"""

# Ledger rows: in every fifth month (and the default partition's) the states in turn, delivered,
# pending, failed (with an error), processing (claimed); every other month all delivered, so its
# expired leaves can go whole after the migration.
LEDGER = """
INSERT INTO platform_event_delivery (event_id, received_at, event_type, status, retry_count,
                                     next_attempt_at, claimed_at, last_error, processed_at)
SELECT e.event_id, e.received_at, e.event_type, x.status, x.h %% 3, e.received_at,
       CASE WHEN x.status = 'processing' THEN now() END,
       CASE WHEN x.status = 'failed' THEN 'sink said no' END,
       CASE WHEN x.status = 'delivered' THEN e.received_at + interval '5 s' END
  FROM platform_events e
 CROSS JOIN LATERAL (
       SELECT h, CASE WHEN (e.event_data ->> 'n')::int / 4 %% 5 = 0
                      THEN (ARRAY['delivered', 'pending', 'failed', 'processing'])[1 + h %% 4]
                      ELSE 'delivered' END AS status
         FROM (SELECT abs(hashtext(e.event_id::text)) AS h) hashed) x
"""


def _connect(url: str) -> Conn:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def _through_0061(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for source in sorted(migrate.discover(), key=lambda m: m.version):
        if source.version <= "0061":
            shutil.copy(source.path, folder / source.path.name)
    return folder


def _events(conn: Conn) -> dict[tuple[Any, Any], dict[str, Any]]:
    rows = conn.execute(
        "SELECT event_id, event_type, event_category, schema_version, user_id, session_id, "
        "occurred_at, received_at, event_data, metadata FROM platform_events"
    ).fetchall()
    return {(r["event_id"], r["received_at"]): r for r in rows}


def _ledger(conn: Conn) -> dict[Any, dict[str, Any]]:
    rows = conn.execute(
        "SELECT event_id, received_at, event_type, status, retry_count, next_attempt_at, "
        "claimed_at, last_error, processed_at, batch_id FROM platform_event_delivery"
    ).fetchall()
    return {r["event_id"]: r for r in rows}


def test_0062_moves_every_event_into_its_month_and_class_and_keeps_what_delivery_needs(
    empty_database_url: str, tmp_path: Path, settings: Settings
) -> None:
    with _connect(empty_database_url) as conn:
        migrate.migrate(conn, _through_0061(tmp_path))
        conn.execute("SELECT count(*) FROM ensure_platform_event_partitions(3, %s)", (MONTHS,))
        conn.execute(HISTORY, {"months": MONTHS})
        conn.execute(LEDGER, {})
        # A batch in flight: its members are processing and belong to it.
        conn.execute(
            "INSERT INTO platform_event_delivery_batches (batch_id, event_ids, received_lo, "
            "received_hi, lease_token, lease_expires_at, holder) "
            "SELECT gen_random_uuid(), array_agg(event_id), min(received_at), max(received_at), "
            "gen_random_uuid(), now() + interval '1 minute', 'worker-1' "
            "FROM platform_event_delivery WHERE status = 'processing'"
        )
        conn.execute(
            "UPDATE platform_event_delivery d SET batch_id = b.batch_id "
            "FROM platform_event_delivery_batches b WHERE d.status = 'processing'"
        )
        before, ledger_before = _events(conn), _ledger(conn)
        categories = {r["event_category"] for r in before.values()}
        assert categories == {"interaction", "user_activity", "transaction", "content"}
        in_default = conn.execute("SELECT count(*) AS n FROM platform_events_default").fetchone()
        assert in_default is not None and in_default["n"] > 0
        statuses = {r["status"] for r in ledger_before.values()}
        assert statuses == {"delivered", "pending", "failed", "processing"}

        applied = migrate.migrate(conn)
        assert applied[0].version == "0062"

        after = _events(conn)
        assert after == before  # every event once, every column as it was
        placed = conn.execute(
            "SELECT e.event_id, e.received_at, e.retention_class, e.tableoid::regclass::text AS leaf, "
            "to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY_MM') AS month, "
            "platform_events_retention_label(s.retention) AS label, s.retention::text AS retention "
            "FROM platform_events e JOIN LATERAL (SELECT retention FROM event_schemas x "
            "WHERE x.event_type = e.event_type ORDER BY version DESC LIMIT 1) s ON true"
        ).fetchall()
        assert len(placed) == len(before)
        for row in placed:
            assert row["retention_class"] == row["retention"]
            assert row["leaf"] == f"platform_events_{row['month']}_r{row['label']}", row

        ledger_after = _ledger(conn)
        window = conn.execute(
            "SELECT now() - 2 * make_interval(days => platform_events_limit('dedupe_window_days')) "
            "AS since"
        ).fetchone()
        assert window is not None
        for event_id, old in ledger_before.items():
            if old["status"] != "delivered":
                assert ledger_after[event_id] == old  # every undelivered row, unchanged
            elif old["received_at"] < window["since"]:
                assert event_id not in ledger_after  # aged out: delivered, no longer needed
        assert set(ledger_after) <= set(ledger_before)
        slots = conn.execute(
            "SELECT ledger_slot, count(*) AS n FROM platform_event_delivery GROUP BY 1"
        ).fetchall()
        assert {r["ledger_slot"] for r in slots} <= {0, 1, 2, 3}
        shown = {
            r["event_id"]: r["processing_status"]
            for r in conn.execute(
                "SELECT event_id, processing_status FROM platform_events_with_status"
            )
        }
        assert len(shown) == len(before)
        for (event_id, _), _row in before.items():
            old_status = ledger_before[event_id]["status"]
            assert shown[event_id] == old_status

        # The pipeline goes on: the in-flight batch is still the members', duplicates of this
        # week are refused, and every pending event can be claimed.
        members = conn.execute(
            "SELECT count(*) AS n FROM platform_event_delivery d "
            "JOIN platform_event_delivery_batches b ON d.batch_id = b.batch_id"
        ).fetchone()
        processing = sum(1 for r in ledger_before.values() if r["status"] == "processing")
        assert members == {"n": processing}
        recent = max(
            (
                r
                for r in ledger_before.values()
                # a type that requires no field: the history's payloads are not the catalogue's
                if r["received_at"] >= window["since"] and r["event_type"] == "user.logout"
            ),
            key=lambda r: r["received_at"],
            default=None,
        )
        assert recent is not None
        original = before[(recent["event_id"], recent["received_at"])]
        resent = {
            "event_type": recent["event_type"],
            "event_id": str(recent["event_id"]),
            "occurred_at": original["occurred_at"].isoformat(),
            "event_data": original["event_data"],
        }
        answer = conn.execute(
            "SELECT status FROM emit_platform_events(%s)", (Jsonb([resent]),)
        ).fetchone()
        assert answer == {"status": "duplicate"}
        pending = sum(1 for r in ledger_before.values() if r["status"] == "pending")
        claimed = conn.execute(
            "SELECT count(DISTINCT event_id) AS n "
            "FROM claim_delivery_batch(50000, interval '1 minute', 3, 'after-0062')"
        ).fetchone()
        assert claimed == {"n": pending}

    # Retention on the migrated store: whole leaves go; nothing undelivered goes.
    job = settings.model_copy(update={"database_url": empty_database_url})
    result = retention.run(retention.RetentionRequest(warehouse=False), job)
    dropped = [p for p in result["partitions"] if p["action"] == "detached"]
    assert dropped and all(p["partition"].endswith(("_r1y", "_r2y")) for p in dropped)
    with _connect(empty_database_url) as conn:
        left = _events(conn)
        undelivered = {k for k in ledger_before if ledger_before[k]["status"] != "delivered"}
        assert undelivered <= {event_id for event_id, _ in left}
        assert set(left) <= set(before)
