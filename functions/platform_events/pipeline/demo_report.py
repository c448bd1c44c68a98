"""The streaming half of ``make demo``: deliver the backlog to DuckDB and show what landed."""

from __future__ import annotations

import sys
from typing import Any

from platform_events import db
from platform_events.config import Settings
from platform_events.pipeline import store, stream
from platform_events.sinks.duckdb import DuckDBSink

WAREHOUSE_QUERIES: dict[str, str] = {
    "events by category": (
        "SELECT event_category AS category, count(*) AS events, "
        "count(DISTINCT user_id) AS users FROM events GROUP BY 1 ORDER BY 2 DESC"
    ),
    "a team's own event type (demo_catalogue/invoice.sent/1.json)": (
        "SELECT event_type, schema_version AS version, count(*) AS events, "
        "round(sum(CAST(json_extract_string(event_data, '$.amount') AS DOUBLE)), 2) AS invoiced "
        "FROM events WHERE event_type = 'invoice.sent' GROUP BY 1, 2"
    ),
    "devices": (
        "SELECT coalesce(device_type, '?') AS device, coalesce(browser, '?') AS browser, "
        "count(*) AS events FROM events GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5"
    ),
    "sessions": (
        "SELECT count(DISTINCT session_id) AS sessions, "
        "round(avg(session_event_index), 1) AS avg_index, "
        "max(session_event_index) AS longest FROM events WHERE session_id IS NOT NULL"
    ),
    "user roles": (
        "SELECT coalesce(user_role, '(no users table)') AS role, count(*) AS events "
        "FROM events GROUP BY 1 ORDER BY 2 DESC"
    ),
}


def _table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("    (no rows)")
        return
    names = list(rows[0])
    widths = [max(len(n), *(len(str(r[n])) for r in rows)) for n in names]
    print("    " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    for row in rows:
        print("    " + "  ".join(str(row[n]).ljust(w) for n, w in zip(names, widths, strict=True)))


def run(settings: Settings) -> dict[str, Any]:
    """Stream everything pending to the local DuckDB warehouse and print the report."""
    from tqdm import tqdm

    sink = DuckDBSink.from_settings(settings)
    try:
        with tqdm(unit=" events", desc="  stream", disable=not sys.stderr.isatty()) as bar:
            answer = stream.stream(settings, sink=sink, max_seconds=600, progress=bar)
        rate = answer["delivered"] / max(answer["duration_ms"] / 1000, 1e-9)
        print(
            f"\n  streamed to DuckDB ({settings.duckdb_file}): {answer['delivered']} delivered, "
            f"{answer['failed']} failed, {answer['batches']} batches in "
            f"{answer['duration_ms'] / 1000:.1f}s ({rate:,.0f} events/s end to end)"
        )
        with db.connect(settings, autocommit=True) as conn:
            syncs = store.recent_syncs(conn)
            lag = store.delivery_lag(conn)
        print("\n  recent batches (warehouse_sync_status):")
        _table(syncs)
        if lag is not None:
            print(
                f"\n  lag: received -> delivered p50 {lag['p50_s']}s, max {lag['max_s']}s; "
                f"still pending {lag['pending']}"
            )
        for title, query in WAREHOUSE_QUERIES.items():
            print(f"\n  warehouse: {title}")
            _table(sink.query(query))
    finally:
        sink.close()
    return answer
