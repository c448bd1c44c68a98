"""``make demo``: the pipeline end to end on the embedded default, with a readable report."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from platform_events import db, migrate
from platform_events.config import Settings

_PLAN: list[tuple[str, float]] = [
    ("session.started", 1.0),
    ("user.login", 0.9),
    ("search.performed", 2.5),
    ("filter.applied", 1.2),
    ("profile.viewed", 2.0),
    ("message.sent", 0.8),
    ("project.created", 0.15),
    ("proposal.submitted", 0.4),
    ("milestone.approved", 0.08),
    ("payment.completed", 0.08),
    ("review.posted", 0.05),
    ("user.logout", 0.5),
]


def _payload(event_type: str, rng: random.Random, users: list[str]) -> dict[str, Any]:
    ident = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
    amount = round(rng.lognormvariate(6, 0.8), 2)
    payloads: dict[str, dict[str, Any]] = {
        "session.started": {"landing_page": rng.choice(["/", "/search", "/projects"])},
        "user.login": {"method": rng.choice(["password", "oauth", "sso"]), "success": True},
        "search.performed": {
            "query": rng.choice(["python", "logo design", "react", "copywriting"]),
            "results_count": rng.randint(0, 300),
        },
        "filter.applied": {
            "filter_name": "budget",
            "filter_value": rng.choice(["<500", "500-2000"]),
        },
        "profile.viewed": {"profile_id": rng.choice(users), "source": "search"},
        "message.sent": {
            "message_id": ident,
            "conversation_id": ident[:6],
            "recipient_id": rng.choice(users),
        },
        "project.created": {
            "project_id": ident,
            "title": "Build a landing page",
            "budget": amount,
            "currency": "USD",
        },
        "proposal.submitted": {"proposal_id": ident, "project_id": ident[:8], "bid_amount": amount},
        "milestone.approved": {"milestone_id": ident, "project_id": ident[:8], "amount": amount},
        "payment.completed": {"payment_id": ident, "amount": amount, "currency": "USD"},
        "review.posted": {"review_id": ident, "project_id": ident[:8], "rating": rng.randint(3, 5)},
        "user.logout": {"reason": "user"},
    }
    return payloads[event_type]


def sample_events(users: int, days: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """A small, plausible mix of marketplace events over the last ``days`` days."""
    rng = random.Random(seed)  # noqa: S311 - simulated traffic, not security
    user_ids = [f"user_{n:05d}" for n in range(users)]
    now = datetime.now(UTC)
    for user in user_ids:
        for _ in range(max(1, int(rng.expovariate(1 / (days * 1.5))))):
            start = now - timedelta(seconds=rng.uniform(0, days * 86_400))
            session = uuid.UUID(int=rng.getrandbits(128))
            for offset, (event_type, rate) in enumerate(_PLAN):
                for _ in range(int(rate) + (rng.random() < rate % 1)):
                    yield {
                        "event_type": event_type,
                        "event_data": _payload(event_type, rng, user_ids),
                        "user_id": user,
                        "session_id": str(session),
                        "occurred_at": start + timedelta(seconds=offset * 40 + rng.uniform(0, 30)),
                    }


def run(settings: Settings, *, users: int = 200, days: int = 3) -> int:
    started = time.monotonic()
    print("platform-events demo")
    print(f"  event store: {'DATABASE_URL' if settings.database_url else 'embedded PostgreSQL'}")
    with db.connect(settings, autocommit=True) as conn:
        applied = migrate.migrate(conn)
        print(f"  migrations applied: {len(applied)}")
        count = 0
        with conn.transaction():
            for event in sample_events(users, days):
                conn.execute(
                    "SELECT emit_platform_event(%s, %s, %s, %s, %s, %s)",
                    (
                        event["event_type"],
                        Jsonb(event["event_data"]),
                        event["user_id"],
                        event["session_id"],
                        Jsonb({"source": "demo"}),
                        event["occurred_at"],
                    ),
                )
                count += 1
        print(
            f"  emitted {count} events with emit_platform_event "
            f"in {time.monotonic() - started:.1f}s\n"
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
    return 0
