"""The dbt models of analytics/ on DuckDB: numbers against a hand-computed answer, incremental runs
equal to full rebuilds, and erasure that leaves no erased id in any model.

dbt runs from its own virtualenv (.venv-dbt), built on first use like checkov's; the warehouse is
a real DuckDB file written by the real sink.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from platform_events.analytics import dbt
from platform_events.config import Settings, load_settings
from platform_events.sinks.duckdb import DuckDBSink
from tests.builders import warehouse_batch, warehouse_event

pytestmark = pytest.mark.slow

MODELS = (
    "sessions",
    "users",
    "user_behavior_features",
    "conversion_funnel",
    "cohort_retention",
    "daily_active_users",
)

# Monday three weeks before this one: every event of the dataset lies in the past, and "today"
# (the incremental models' window) is later than all of them.
_TODAY = datetime.now(UTC).date()
MONDAY = _TODAY - timedelta(days=_TODAY.weekday() + 21)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """MONDAY plus ``day`` days at hh:mm UTC."""
    return datetime(MONDAY.year, MONDAY.month, MONDAY.day, hh, mm, tzinfo=UTC) + timedelta(days=day)


def on(day: int) -> date:
    return MONDAY + timedelta(days=day)


def marketplace() -> list[dict[str, Any]]:
    """Alice (client, signed up on MONDAY) runs the whole funnel; Bob (freelancer, signed up the
    week before) searches and sends her a proposal; Carol (client, no users-table row, so no
    tenure) searches once and comes back two weeks later."""

    def alice(event_type: str, session: str, when: datetime, **kw: Any) -> dict[str, Any]:
        return warehouse_event(
            event_type, "alice", session, when,
            user_role="client", user_tenure_days=(when.date() - MONDAY).days, **kw,
        )  # fmt: skip

    return [
        alice("search.performed", "a1", at(0, 10)),
        alice("profile.viewed", "a1", at(0, 10, 1), event_data={"profile_id": "bob"}),
        warehouse_event(
            "search.performed",
            "bob",
            "b1",
            at(0, 11),
            user_role="freelancer",
            user_tenure_days=7,
            device_type="mobile",
            country="DE",
        ),
        warehouse_event(
            "proposal.submitted",
            "bob",
            "b1",
            at(0, 11, 10),
            user_role="freelancer",
            user_tenure_days=7,
            device_type="mobile",
            country="DE",
            event_data={
                "proposal_id": "pr1",
                "project_id": "p1",
                "bid_amount": 900,
                "client_id": "alice",
            },
        ),
        warehouse_event("search.performed", "carol", "c1", at(0, 15), user_role="client"),
        alice("project.created", "a2", at(1, 9), device_type="mobile"),
        alice("milestone.approved", "a2", at(1, 9, 30), device_type="mobile"),
        alice(
            "payment.completed",
            "a2",
            at(1, 9, 31),
            device_type="mobile",
            event_data={"payment_id": "pay1", "amount": 300, "currency": "USD"},
        ),
        alice("review.posted", "a3", at(9, 12)),
        alice(
            "payment.completed",
            "a3",
            at(9, 12, 5),
            event_data={"payment_id": "pay2", "amount": 200.5, "currency": "USD"},
        ),
        warehouse_event("user.login", "carol", "c2", at(15, 8), user_role="client"),
    ]


def write(settings: Settings, rows: list[dict[str, Any]]) -> None:
    sink = DuckDBSink.from_settings(settings)
    try:
        sink.write(warehouse_batch(rows))
    finally:
        sink.close()


def models(settings: Settings, action: dbt.Action = "build", **kw: Any) -> None:
    assert dbt.run(settings, action, **kw) == 0, f"dbt {action} failed (see the output above)"


def table(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.duckdb_file), read_only=True) as conn:
        return conn.execute(query).fetchall()


def _warehouse(home: Path) -> Settings:
    settings = load_settings(
        platform_events_home=home, duckdb_path=home / "warehouse.duckdb", warehouse="duckdb"
    )
    write(settings, marketplace())
    return settings


@pytest.fixture
def warehouse(tmp_path: Path) -> Settings:
    """The marketplace in a fresh warehouse, models not built."""
    return _warehouse(tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The marketplace with the models built and tested once (dbt build), for read-only tests."""
    settings = _warehouse(tmp_path_factory.mktemp("models"))
    models(settings)
    return settings


def test_sessions_and_users_match_the_hand_computed_marketplace(built: Settings) -> None:
    sessions = table(
        built,
        "SELECT session_id, user_id, duration_seconds, events, first_event_type, "
        "last_event_type, device_type, country FROM analytics.sessions ORDER BY session_id",
    )
    assert sessions == [
        ("a1", "alice", 60, 2, "search.performed", "profile.viewed", "desktop", "US"),
        ("a2", "alice", 1860, 3, "project.created", "payment.completed", "mobile", "US"),
        ("a3", "alice", 300, 2, "review.posted", "payment.completed", "desktop", "US"),
        ("b1", "bob", 600, 2, "search.performed", "proposal.submitted", "mobile", "DE"),
        ("c1", "carol", 0, 1, "search.performed", "search.performed", "desktop", "US"),
        ("c2", "carol", 0, 1, "user.login", "user.login", "desktop", "US"),
    ]
    users = table(
        built,
        "SELECT user_id, user_role, signed_up_on, tenure_days, events, sessions, active_days, "
        "transaction_events, interaction_events, user_activity_events, content_events, "
        "monetary_value FROM analytics.users ORDER BY user_id",
    )
    assert users == [
        ("alice", "client", on(0), 9, 7, 3, 3, 4, 2, 0, 1, 500.5),
        ("bob", "freelancer", on(-7), 7, 2, 1, 1, 1, 1, 0, 0, 0),
        ("carol", "client", on(0), 15, 2, 2, 2, 0, 1, 1, 0, 0),
    ]


def test_behavior_features_hold_recency_frequency_monetary_and_active_days(
    built: Settings,
) -> None:
    rows = table(
        built,
        "SELECT user_id, activity_date, events, sessions, transaction_events, "
        "payment_completed_events, monetary_value, recency_days, frequency_28d, "
        "monetary_value_28d, days_active_7d, days_active_28d "
        "FROM analytics.user_behavior_features ORDER BY user_id, activity_date",
    )
    assert rows == [
        ("alice", on(0), 2, 1, 0, 0, 0, None, 0, 0, 1, 1),
        ("alice", on(1), 3, 1, 3, 1, 300, 1, 1, 300, 2, 2),
        # on(1) is 8 days back: outside the 7-day window, inside the 28-day one
        ("alice", on(9), 2, 1, 1, 1, 200.5, 8, 2, 500.5, 1, 3),
        ("bob", on(0), 2, 1, 1, 0, 0, None, 0, 0, 1, 1),
        ("carol", on(0), 1, 1, 0, 0, 0, None, 0, 0, 1, 1),
        ("carol", on(15), 1, 1, 0, 0, 0, 15, 0, 0, 1, 2),
    ]
    dau = table(built, "SELECT * FROM analytics.daily_active_users ORDER BY activity_date")
    assert [(d, n) for d, n, *_ in dau] == [(on(0), 3), (on(1), 1), (on(9), 1), (on(15), 1)]


def test_funnel_orders_steps_per_user_and_times_them(built: Settings) -> None:
    rows = table(
        built,
        "SELECT user_role, step_name, users, conversion_from_previous, conversion_from_start, "
        "median_seconds_from_previous FROM analytics.conversion_funnel "
        f"WHERE funnel_date = DATE '{on(0)}' ORDER BY user_role, step_index",
    )
    day = 86_400
    assert rows == [
        ("client", "search", 2, None, 1.0, None),
        ("client", "profile_view", 1, 0.5, 0.5, 60.0),
        # Bob's proposal names Alice as its client (the step's counterpart)
        ("client", "proposal", 1, 1.0, 0.5, 69 * 60.0),
        ("client", "project", 1, 1.0, 0.5, (21 * 60 + 50) * 60.0),
        ("client", "milestone", 1, 1.0, 0.5, 1800.0),
        ("client", "payment", 1, 1.0, 0.5, 60.0),
        ("client", "review", 1, 1.0, 0.5, 8 * day + (2 * 60 + 29) * 60.0),
        ("freelancer", "search", 1, None, 1.0, None),
        *[
            ("freelancer", step, 0, 0.0 if step == "profile_view" else None, 0.0, None)
            for step in ("profile_view", "proposal", "project", "milestone", "payment", "review")
        ],
    ]
    assert table(built, "SELECT DISTINCT funnel_date FROM analytics.conversion_funnel") == [
        (on(0),)
    ]


def test_funnel_steps_are_dbt_vars(warehouse: Settings) -> None:
    steps = (
        "{funnel_steps: [{name: search, event_type: search.performed}, "
        "{name: proposal, event_type: proposal.submitted}]}"
    )
    models(warehouse, "run", dbt_vars=steps)
    rows = table(
        warehouse,
        "SELECT user_role, step_name, users FROM analytics.conversion_funnel "
        "ORDER BY user_role, step_index",
    )
    assert rows == [
        ("client", "search", 2),
        ("client", "proposal", 0),
        ("freelancer", "search", 1),
        ("freelancer", "proposal", 1),
    ]


def test_cohorts_are_iso_weeks_of_sign_up(built: Settings) -> None:
    rows = table(
        built,
        "SELECT cohort_week, weeks_since_signup, cohort_size, active_users, retention_rate "
        "FROM analytics.cohort_retention ORDER BY cohort_week, weeks_since_signup",
    )
    assert rows == [
        (on(-7), 1, 1, 1, 1.0),  # Bob
        (on(0), 0, 2, 2, 1.0),  # Alice and Carol
        (on(0), 1, 2, 1, 0.5),  # Alice
        (on(0), 2, 2, 1, 0.5),  # Carol
    ]


def test_an_incremental_run_equals_a_full_rebuild(warehouse: Settings) -> None:
    models(warehouse)
    # Today, within the lookback window: Carol again, and a new user.
    now = datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
    write(
        warehouse,
        [
            warehouse_event("search.performed", "carol", "c3", now, user_role="client"),
            warehouse_event("payment.completed", "carol", "c3", now + timedelta(minutes=1),
                            user_role="client",
                            event_data={"payment_id": "p9", "amount": 50, "currency": "USD"}),
            warehouse_event("user.login", "dave", "d1", now, user_role="freelancer"),
        ],
    )  # fmt: skip
    models(warehouse, "run")
    incremental = {m: table(warehouse, f"SELECT * FROM analytics.{m} ORDER BY ALL") for m in MODELS}
    assert ("c3",) in table(warehouse, "SELECT session_id FROM analytics.sessions")
    models(warehouse, "run", full_refresh=True)
    for model in MODELS:
        assert incremental[model] == table(
            warehouse, f"SELECT * FROM analytics.{model} ORDER BY ALL"
        ), model


def test_after_erasure_and_retention_no_model_holds_what_events_lost(warehouse: Settings) -> None:
    models(warehouse)
    assert _mentions(warehouse, "alice")
    sink = DuckDBSink.from_settings(warehouse)
    try:
        assert sink.erase_user("alice") > 0
    finally:
        sink.close()
    models(warehouse, "run")  # incremental: the erased rows propagate
    assert _mentions(warehouse, "alice") == []
    sessions = table(warehouse, "SELECT session_id FROM analytics.sessions ORDER BY 1")
    assert sessions == [("b1",), ("c1",), ("c2",)]
    models(warehouse, "test")  # the relationships still hold
    # retention: events past their type's age leave the warehouse, and their session the model
    sink = DuckDBSink.from_settings(warehouse)
    try:
        assert sink.delete_expired({"user.login": timedelta(days=1)}) == 1  # Carol's c2
    finally:
        sink.close()
    models(warehouse, "run")
    sessions = table(warehouse, "SELECT session_id FROM analytics.sessions ORDER BY 1")
    assert sessions == [("b1",), ("c1",)]


def _mentions(settings: Settings, needle: str) -> list[tuple[str, str]]:
    """(model, column) pairs where any text column of a model holds ``needle``."""
    found = []
    columns = table(
        settings,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'analytics' AND data_type = 'VARCHAR'",
    )
    for model, column in columns:
        with duckdb.connect(str(settings.duckdb_file), read_only=True) as conn:
            row = conn.execute(
                f'SELECT count(*) FROM analytics."{model}" WHERE "{column}" LIKE ?',
                [f"%{needle}%"],
            ).fetchone()
        if row and row[0]:
            found.append((model, column))
    return found


def test_demo_marketplace_models_agree_with_its_events(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make demo`` builds the models (dbt build: every dbt test passes); each model's numbers
    match the same quantity computed here from the raw events."""
    from collections import Counter, defaultdict

    from platform_events import demo

    assert demo.run(settings, users=40, days=2) == 0
    assert "console: `platform-events serve" in capsys.readouterr().out
    events = table(
        settings,
        "SELECT user_id, session_id, event_type, CAST(occurred_at AT TIME ZONE 'UTC' AS DATE) "
        "FROM events",
    )
    sessions = {s for _, s, _, _ in events if s is not None}
    assert table(settings, "SELECT count(*), sum(events) FROM analytics.sessions") == [
        (len(sessions), sum(1 for e in events if e[1] is not None))
    ]
    users = {u for u, _, _, _ in events if u is not None}
    assert table(settings, "SELECT count(*) FROM analytics.users") == [(len(users),)]
    # every user is in one cohort, and active at or after their sign-up week
    sizes = table(
        settings, "SELECT DISTINCT cohort_week, cohort_size FROM analytics.cohort_retention"
    )
    assert sum(n for _, n in sizes) == len(users)

    active: defaultdict[date, set[str]] = defaultdict(set)
    for user, _, _, day in events:
        if user is not None:
            active[day].add(user)
    assert dict(table(settings, "SELECT activity_date, active_users FROM analytics.daily_active_users")) == {
        day: len(who) for day, who in active.items()
    }  # fmt: skip

    roles = dict(table(settings, "SELECT user_id, user_role FROM analytics.users"))
    entries = Counter(
        (day, roles[user]) for user, day in {(u, d) for u, _, t, d in events if u and t == "search.performed"}
    )  # fmt: skip
    first_step = table(
        settings,
        "SELECT funnel_date, user_role, users FROM analytics.conversion_funnel WHERE step_index = 1",
    )
    assert {(d, r): n for d, r, n in first_step} == dict(entries)
    for role, previous, users_now, conversion in table(
        settings,
        "SELECT user_role, lag(users) OVER w, users, conversion_from_previous "
        "FROM analytics.conversion_funnel WINDOW w AS (PARTITION BY funnel_date, user_role "
        "ORDER BY step_index) ORDER BY ALL",
    ):
        if previous:
            assert conversion == pytest.approx(users_now / previous), role
    # the marketplace's clients get past the first steps
    reached = table(
        settings,
        "SELECT step_name, sum(users) FROM analytics.conversion_funnel WHERE user_role = 'client' "
        "GROUP BY step_index, step_name ORDER BY step_index",
    )
    assert reached[0][1] >= reached[1][1] > 0, reached


def test_the_models_command_wraps_dbt(warehouse: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from platform_events import cli

    monkeypatch.setenv("PLATFORM_EVENTS_HOME", str(warehouse.home))
    monkeypatch.setenv("DUCKDB_PATH", str(warehouse.duckdb_file))
    monkeypatch.setenv("WAREHOUSE", "duckdb")
    assert cli.main(["models", "build"]) == 0
    assert table(warehouse, "SELECT count(*) FROM analytics.users") == [(3,)]
    # a failing dbt test (a duplicated user) is the command's failure
    with duckdb.connect(str(warehouse.duckdb_file)) as conn:
        conn.execute("INSERT INTO analytics.users SELECT * FROM analytics.users LIMIT 1")
    assert cli.main(["models", "test", "--select", "users"]) == 1
