"""``make demo``: the pipeline end to end on the embedded default, with a readable report."""

from __future__ import annotations

import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from platform_events import catalog, catalog_apply, catalog_files, db, emit, migrate
from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.events import Event
from platform_events.generate_command import write_traffic
from platform_events.stores import demo as store
from platform_events.traffic import Marketplace

SEED = 7


def add_users(conn: Conn, users: int) -> int:
    """The marketplace's users in the example users table, so enrichment has roles and tenure."""
    people = Marketplace(users, SEED).users
    rng = random.Random(SEED)  # noqa: S311 - simulated sign-up dates, not security
    now = datetime.now(UTC)
    store.upsert_users(
        conn,
        ids=[p.user_id for p in people],
        roles=[p.role for p in people],
        created=[now - timedelta(days=rng.uniform(7, 3 * 365)) for _ in people],
    )
    return len(people)


TEAM_EVENT = "invoice.sent"


def add_team_event(settings: Settings, conn: Conn, users: int) -> int:
    """A team's own event type, from its file: catalogue applied, events validated and stored.

    The team's catalogue is the built-in types plus ``demo_catalogue/invoice.sent/1.json``, as a
    team's directory (PLATFORM_EVENTS_CATALOG) would be; docs/define-your-events.md.
    """
    team_dir = settings.platform_events_home / "catalogue"
    shutil.rmtree(team_dir, ignore_errors=True)
    shutil.copytree(catalog_files.builtin_dir(), team_dir)
    shutil.copytree(
        Path(__file__).resolve().parent / "demo_catalogue", team_dir, dirs_exist_ok=True
    )
    plan = catalog_apply.apply(conn, catalog_files.load(team_dir))
    print(f"  catalogue {team_dir}: {TEAM_EVENT}/1.json applied")
    print("\n".join(plan.lines()))
    team = catalog.load(team_dir)
    people = Marketplace(users, SEED).users
    clients = [p.user_id for p in people if p.role == "client"] or [p.user_id for p in people]
    rng = random.Random(SEED)  # noqa: S311 - simulated invoices, not security
    now = datetime.now(UTC)
    events = []
    for n in range(max(10, users // 4)):
        data = {
            "invoice_id": f"inv_{n:05d}",
            "amount": round(rng.uniform(50, 5000), 2),
            "currency": "USD",
            "client_id": rng.choice(clients),
            "channel": rng.choice(["email", "portal", "api"]),
        }
        team.validate(TEAM_EVENT, data)  # the client's check, by the team's own file
        freelancer = rng.choice(people)
        events.append(
            Event(
                TEAM_EVENT,
                data,
                user_id=freelancer.user_id,
                occurred_at=now - timedelta(minutes=rng.uniform(1, 600)),
            )
        )
    results = emit.write_events(conn, events)
    accepted = sum(r.status == "accepted" for r in results)
    print(f"  emitted {len(events)} {TEAM_EVENT} events: {accepted} accepted\n")
    return accepted


def run(settings: Settings, *, users: int = 200, days: int = 3) -> int:
    started = time.monotonic()
    print("platform-events demo")
    print(f"  event store: {'DATABASE_URL' if settings.database_url else 'embedded PostgreSQL'}")
    with db.connect(settings, autocommit=True) as conn:
        # The examples add the application's side: projects/reviews triggers and a users table.
        applied, _ = migrate.deploy(
            conn,
            include_examples=True,
            catalog=catalog_files.directory(settings.platform_events_catalog),
        )
        print(f"  migrations applied: {len(applied)}")
        print(f"  application users: {add_users(conn, users)} (examples/0002 users table)")
        # Marketplace traffic (platform_events.traffic) through the client's batched write path.
        written = write_traffic(settings, users=users, days=days, seed=SEED, progress=False)
        print(
            f"  emitted {written['events']} events ({written['accepted']} accepted) through the "
            f"batched client path ({written['events_per_second']} events/s); "
            f"{time.monotonic() - started:.1f}s so far\n"
        )
        add_team_event(settings, conn, users)
        rows = store.stored_by_type(conn)
    print(f"  {'category':<14} {'event type':<22} {'status':<10} {'events':>7}")
    for row in rows:
        print(
            f"  {row['event_category']!s:<14} {row['event_type']!s:<22} "
            f"{row['status']!s:<10} {row['n']:>7}"
        )
    # Streaming (pipeline/demo_report): deliver to the local DuckDB warehouse and query it.
    from platform_events.pipeline import demo_report

    demo_report.run(settings)
    # The analyst's layer (analytics/): dbt models over the warehouse, and the console's URL.
    from platform_events.analytics import demo_report as models_report

    status = models_report.run(settings)
    print(f"\n  demo finished in {time.monotonic() - started:.1f}s")
    return status
