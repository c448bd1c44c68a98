"""Measures where queue state should live: on the event row, or in a narrow table beside it.

Both layouts hold the same events with the same indexes (B-tree on time, user, type; GIN
jsonb_path_ops on the payload; a partial index on pending rows). Layout "on the row" keeps
status/retry/claim columns in the event table, like the seed; layout "beside" is ours
(platform_event_delivery). For each, N events are drained by a claim (FOR UPDATE SKIP LOCKED) +
acknowledge loop; we print events/s and the WAL written per event, which shows the index
maintenance each claim and acknowledgement costs.

Run: .venv/bin/python bench/queue_layout.py [N]   (uses $DATABASE_URL or the embedded server)
"""

from __future__ import annotations

import sys
import time

import psycopg

from platform_events import db, local
from platform_events.config import load_settings

PAYLOAD = (
    "jsonb_build_object('project_id', 'p' || g, 'title', 'Build a landing page number ' || g, "
    "'budget', (g % 5000) + 0.5, 'currency', 'USD', 'skills', jsonb_build_array('python', 'sql', 'k' || (g % 97)))"
)

SETUP = {
    "on the row": f"""
        DROP TABLE IF EXISTS q_row;
        CREATE TABLE q_row (
            event_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), event_type text NOT NULL,
            user_id text, occurred_at timestamptz NOT NULL DEFAULT now(),
            received_at timestamptz NOT NULL DEFAULT now(), event_data jsonb NOT NULL,
            status text NOT NULL DEFAULT 'pending', retry_count int NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(), claimed_at timestamptz,
            processed_at timestamptz);
        CREATE INDEX ON q_row (occurred_at); CREATE INDEX ON q_row (user_id, occurred_at);
        CREATE INDEX ON q_row (event_type, occurred_at);
        CREATE INDEX ON q_row USING gin (event_data jsonb_path_ops);
        CREATE INDEX ON q_row (next_attempt_at) WHERE status = 'pending';
        INSERT INTO q_row (event_type, user_id, event_data)
        SELECT 'project.created', 'u' || (g % 1000), {PAYLOAD} FROM generate_series(1, %(n)s) g;
    """,
    "beside": f"""
        DROP TABLE IF EXISTS q_events, q_state;
        CREATE TABLE q_events (
            event_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), event_type text NOT NULL,
            user_id text, occurred_at timestamptz NOT NULL DEFAULT now(),
            received_at timestamptz NOT NULL DEFAULT now(), event_data jsonb NOT NULL);
        CREATE INDEX ON q_events (occurred_at); CREATE INDEX ON q_events (user_id, occurred_at);
        CREATE INDEX ON q_events (event_type, occurred_at);
        CREATE INDEX ON q_events USING gin (event_data jsonb_path_ops);
        CREATE TABLE q_state (
            event_id uuid PRIMARY KEY, status text NOT NULL DEFAULT 'pending',
            retry_count int NOT NULL DEFAULT 0, next_attempt_at timestamptz NOT NULL DEFAULT now(),
            claimed_at timestamptz, processed_at timestamptz) WITH (fillfactor = 80);
        CREATE INDEX ON q_state (next_attempt_at) WHERE status = 'pending';
        INSERT INTO q_events (event_type, user_id, event_data)
        SELECT 'project.created', 'u' || (g % 1000), {PAYLOAD} FROM generate_series(1, %(n)s) g;
        INSERT INTO q_state (event_id) SELECT event_id FROM q_events;
    """,
}

CLAIM = {
    "on the row": """
        WITH due AS (SELECT event_id FROM q_row WHERE status = 'pending' AND next_attempt_at <= now()
                     ORDER BY next_attempt_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
        UPDATE q_row r SET status = 'processing', claimed_at = now() FROM due
         WHERE r.event_id = due.event_id RETURNING r.event_id, r.event_data""",
    "beside": """
        WITH due AS (SELECT event_id FROM q_state WHERE status = 'pending' AND next_attempt_at <= now()
                     ORDER BY next_attempt_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED),
        claimed AS (UPDATE q_state s SET status = 'processing', claimed_at = now() FROM due
                     WHERE s.event_id = due.event_id RETURNING s.event_id)
        SELECT e.event_id, e.event_data FROM q_events e WHERE e.event_id IN (SELECT event_id FROM claimed)""",
}
ACK = {
    "on the row": "UPDATE q_row SET status = 'delivered', processed_at = now() WHERE event_id = ANY(%(ids)s)",
    "beside": "UPDATE q_state SET status = 'delivered', processed_at = now() WHERE event_id = ANY(%(ids)s)",
}


def _wal(conn: psycopg.Connection[dict[str, object]]) -> int:
    row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS b").fetchone()
    assert row is not None
    return int(row["b"])  # type: ignore[call-overload]


def measure(
    conn: psycopg.Connection[dict[str, object]], layout: str, n: int, batch: int
) -> tuple[float, float]:
    conn.execute(SETUP[layout].replace("%(n)s", str(n)).encode())
    conn.execute("VACUUM ANALYZE")
    wal_before, started, drained = _wal(conn), time.perf_counter(), 0
    while True:
        with conn.transaction():
            rows = conn.execute(CLAIM[layout], {"batch": batch}).fetchall()
        if not rows:
            break
        with conn.transaction():
            conn.execute(ACK[layout], {"ids": [r["event_id"] for r in rows]})
        drained += len(rows)
    elapsed = time.perf_counter() - started
    return drained / elapsed, (_wal(conn) - wal_before) / max(drained, 1)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    settings = load_settings()
    with db.connect(settings, autocommit=True, url=local.database_url(settings)) as conn:
        print(f"claim + acknowledge of {n} events, batches of 1000")
        results = {layout: measure(conn, layout, n, 1000) for layout in ("on the row", "beside")}
        for layout, (rate, wal) in results.items():
            print(f"  state {layout:<11} {rate:>9,.0f} events/s   {wal:>7,.0f} WAL bytes/event")
        ratio = results["beside"][0] / results["on the row"][0]
        print(f"  beside / on the row: {ratio:.2f}x throughput")
        conn.execute("DROP TABLE IF EXISTS q_row, q_events, q_state")


if __name__ == "__main__":
    main()
