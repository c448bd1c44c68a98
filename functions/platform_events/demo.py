"""``make demo``: the pipeline end to end on the embedded default, with a readable report."""

from __future__ import annotations

import time

from platform_events import db, migrate
from platform_events.client.commands import write_traffic
from platform_events.config import Settings


def run(settings: Settings, *, users: int = 200, days: int = 3) -> int:
    started = time.monotonic()
    print("platform-events demo")
    print(f"  event store: {'DATABASE_URL' if settings.database_url else 'embedded PostgreSQL'}")
    with db.connect(settings, autocommit=True) as conn:
        applied = migrate.migrate(conn)
        print(f"  migrations applied: {len(applied)}")
        # Marketplace traffic (platform_events.traffic) through the client's batched write path.
        written = write_traffic(settings, users=users, days=days, progress=False)
        print(
            f"  emitted {written['events']} events ({written['accepted']} accepted) through the "
            f"batched client path ({written['events_per_second']} events/s); "
            f"{time.monotonic() - started:.1f}s so far\n"
        )
        rows = conn.execute(
            """SELECT e.event_category, e.event_type, d.status, count(*) AS n
                 FROM platform_events e JOIN platform_event_delivery d USING (event_id, received_at)
                GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
        ).fetchall()
    print(f"  {'category':<14} {'event type':<22} {'status':<10} {'events':>7}")
    for row in rows:
        print(
            f"  {row['event_category']!s:<14} {row['event_type']!s:<22} "
            f"{row['status']!s:<10} {row['n']:>7}"
        )
    # Streaming (pipeline/demo_report): deliver to the local DuckDB warehouse and query it.
    from platform_events.pipeline import demo_report

    demo_report.run(settings)
    print(f"\n  demo finished in {time.monotonic() - started:.1f}s")
    return 0
