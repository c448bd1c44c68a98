"""The models half of ``make demo``: ``dbt build`` over the demo's warehouse, and what it holds."""

from __future__ import annotations

from platform_events.analytics import dbt
from platform_events.config import Settings
from platform_events.sinks.duckdb import DuckDBSink

MODELS = (
    "sessions",
    "users",
    "user_behavior_features",
    "conversion_funnel",
    "cohort_retention",
    "daily_active_users",
)


def run(settings: Settings, port: int = 8080) -> int:
    """Build and test the models on the local warehouse, print their sizes and the funnel."""
    print("\n  models (dbt build over the warehouse, analytics/):")
    status = dbt.run(settings, "build", quiet=True)  # dbt prints errors only
    if status != 0:
        print(f"  dbt build failed (exit {status}); see its output above")
        return status
    sink = DuckDBSink.from_settings(settings)
    try:
        schema = settings.models_schema
        for model in MODELS:
            rows = sink.query(f"SELECT count(*) AS n FROM {schema}.{model}")
            print(f"    {model:<24} {rows[0]['n']:>7} rows")
        funnel = sink.query(
            f"SELECT step_name, sum(users) AS users FROM {schema}.conversion_funnel "
            "WHERE user_role = 'client' GROUP BY step_index, step_name ORDER BY step_index"
        )
    finally:
        sink.close()
    if funnel:
        print(
            "\n  client funnel, all days: "
            + " -> ".join(f"{r['step_name']} {r['users']}" for r in funnel)
        )
    print(
        f"\n  console: `platform-events serve --port {port}`, then open http://127.0.0.1:{port}/ "
        f"(sign in with the token in {settings.home / 'local_auth_token'} or LOCAL_AUTH_TOKEN)"
    )
    return 0
