"""Measures streaming to the local DuckDB warehouse end to end (claim, enrich, write, ack).

One worker drains an N-event backlog (default 1,000,000) and the rate of every 100,000 events
is printed, to show it stays flat as the warehouse and the delivered ledger grow; then the same
backlog is re-sent (all back to pending, a fresh warehouse) and drained by 2 worker processes.

Run: .venv/bin/python bench/stream_duckdb.py [N] [BATCH]   (creates and drops a scratch
database on $DATABASE_URL or the embedded server; the DuckDB files go to a temporary directory)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from platform_events import migrate
from platform_events.config import load_settings
from platform_events.db import with_database
from platform_events.local import database_url
from platform_events.pipeline import stream

AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
]

LOAD = """
INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                             session_id, occurred_at, received_at, event_data, metadata,
                             retention_class)
SELECT gen_random_uuid(), 'search.performed', 'interaction', 1, 'user_' || (i %% 5000),
       'session_' || (i %% 50000), now() - interval '1 hour' + i * interval '1 millisecond',
       now() - interval '1 hour' + i * interval '1 millisecond',
       jsonb_build_object('query', 'python developer', 'results_count', i %% 100),
       jsonb_build_object('user_agent', (%(agents)s::text[])[1 + i %% 3], 'source', 'bench',
                          'geo', jsonb_build_object('country', 'FR', 'city', 'Paris')),
       '1 year'
  FROM generate_series(%(lo)s, %(hi)s) AS i
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    base = load_settings()
    server = database_url(base)
    name = f"pe_bench_stream_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    work = Path(tempfile.mkdtemp(prefix="pe-bench-"))
    try:
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            migrate.migrate(conn)
            started = time.perf_counter()
            for lo in range(1, n + 1, 100_000):
                conn.execute(LOAD, {"agents": AGENTS, "lo": lo, "hi": min(lo + 99_999, n)})
            conn.execute(
                "INSERT INTO platform_event_delivery (event_id, received_at, event_type) "
                "SELECT event_id, received_at, event_type FROM platform_events"
            )
            conn.execute("VACUUM ANALYZE")
            print(f"backlog of {n:,} events loaded in {time.perf_counter() - started:.0f}s")

        settings = load_settings(
            database_url=url, duckdb_path=work / "one.duckdb", platform_events_home=work
        )
        print(f"1 worker, batch {batch}:")
        total, t0 = 0, time.perf_counter()
        window_start, window_n = t0, 0
        while True:
            answer = stream.stream(settings, batch_size=batch, max_batches=100_000 // batch)
            if not answer["claimed"]:
                break
            total += answer["delivered"]
            window_n += answer["delivered"]
            now = time.perf_counter()
            print(f"  {total:>9,} delivered: {window_n / (now - window_start):>8,.0f} events/s")
            window_start, window_n = now, 0
        one = total / (time.perf_counter() - t0)
        print(f"  overall {one:,.0f} events/s")

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE platform_event_delivery SET status = 'pending', next_attempt_at = now()"
            )
            conn.execute("VACUUM ANALYZE platform_event_delivery")
        env = dict(
            os.environ,
            DATABASE_URL=url,
            DUCKDB_PATH=str(work / "two.duckdb"),
            PLATFORM_EVENTS_HOME=str(work),
            STREAM_MAX_SECONDS="3600",
            LOG_LEVEL="WARNING",
        )
        command = [sys.executable, "-m", "platform_events", "stream", "--batch-size", str(batch)]
        t0 = time.perf_counter()
        workers = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        answers = [json.loads(w.communicate()[0]) for w in workers]
        two = sum(a["delivered"] for a in answers) / (time.perf_counter() - t0)
        print(
            f"2 workers: {two:,.0f} events/s ({[a['delivered'] for a in answers]} each), "
            f"{two / one:.2f}x one worker"
        )
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
