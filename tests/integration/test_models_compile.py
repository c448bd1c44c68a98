"""The dbt models render for BigQuery and Redshift, offline, into SQL those dialects parse.

analytics/offline/compile.py runs ``dbt compile`` with the offline profile (no credentials, no
network) for both branches of every incremental model (first run, and table present). sqlglot
then parses each model in the target's dialect and every function call must be one sqlglot knows
for that dialect: a DuckDB-only function (json_extract_string, try_cast, median on BigQuery)
left in a BigQuery model shows up as an unknown one. The manifest carries each model's
partitioning and clustering, checked for BigQuery.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from platform_events.analytics import dbt
from platform_events.config import load_settings

pytestmark = pytest.mark.slow

# Functions the warehouse documents that sqlglot's dialect does not model, with the reference.
KNOWN_ELSEWHERE = {
    # https://docs.aws.amazon.com/redshift/latest/dg/JSON_SERIALIZE.html (SUPER to text)
    "redshift": {"json_serialize"},
    "bigquery": set(),
}

# How dbt.current_timestamp() renders per warehouse.
NOW = {"bigquery": "current_timestamp()", "redshift": "getdate()"}


def _compile(target: str, mode: str, out: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    settings = load_settings(platform_events_home=out, warehouse="duckdb")
    python = dbt.ensure_dbt(settings).with_name("python")
    project = dbt.project_dir()
    env = dbt.dbt_env(settings)
    subprocess.run(
        [str(python), str(project / "offline" / "compile.py"), target, mode,
         "--profiles-dir", str(project / "offline"), "--target-path", str(out)],
        cwd=project, env=env, check=True, timeout=600,
    )  # fmt: skip
    models = sorted((out / "compiled" / "platform_events" / "models").rglob("*.sql"))
    manifest = json.loads((out / "manifest.json").read_text())
    return [(m.stem, m.read_text()) for m in models], manifest


@pytest.mark.parametrize("target", ["bigquery", "redshift"])
@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_models_compile_to_sql_the_warehouse_parses(target: str, mode: str, tmp_path: Path) -> None:
    models, _ = _compile(target, mode, tmp_path)
    assert {name for name, _ in models} >= {
        "stg_events", "sessions", "users", "user_behavior_features", "conversion_funnel",
        "cohort_retention", "daily_active_users",
    }  # fmt: skip
    for name, sql in models:
        trees = sqlglot.parse(sql, read=target, error_level=sqlglot.ErrorLevel.RAISE)
        unknown = {
            f.name.lower() for tree in trees if tree for f in tree.find_all(exp.Anonymous)
        } - KNOWN_ELSEWHERE[target]
        assert not unknown, f"{target} {name}: functions {target} lacks: {sorted(unknown)}"
        if name == "stg_events":  # events requires a partition filter on BigQuery
            assert "where occurred_at >= cast('1970-01-01' as timestamp)" in sql.lower()
        if name in ("sessions", "user_behavior_features"):
            # the incremental branch reads only the lookback window, bounded by a constant
            assert (NOW[target] in sql.lower()) == (mode == "incremental"), name


def test_bigquery_models_are_partitioned_and_clustered(tmp_path: Path) -> None:
    _, manifest = _compile("bigquery", "full", tmp_path)
    config = {
        node["name"]: node["config"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert config["sessions"]["partition_by"] == {
        "field": "session_start", "data_type": "timestamp", "granularity": "day",
    }  # fmt: skip
    assert config["sessions"]["cluster_by"] == ["user_id"]
    assert config["user_behavior_features"]["partition_by"]["field"] == "activity_date"
    for name in ("sessions", "user_behavior_features"):
        assert config[name]["materialized"] == "incremental"
        assert config[name]["incremental_strategy"] == "merge"
        # the merge prunes the target to the rebuilt window, by a constant (partition pruning)
        (predicate,) = config[name]["incremental_predicates"]
        assert predicate.startswith("DBT_INTERNAL_DEST.") and "current_timestamp()" in predicate
        sqlglot.parse_one(
            f"SELECT 1 FROM t AS DBT_INTERNAL_DEST WHERE {predicate}", read="bigquery"
        )
