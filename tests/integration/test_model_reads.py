"""The client's typed reads of the dbt models: DuckDB (the models built by dbt over the
hand-computed marketplace of test_models) and BigQuery (the real client against bqemulator,
parameterized queries)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from platform_events.client import reads
from platform_events.client.warehouse import BigQueryReader, DuckDBReader
from platform_events.config import Settings, load_settings
from platform_events.errors import InvalidRequest
from tests.integration.test_models import _warehouse, models, on

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = _warehouse(tmp_path_factory.mktemp("reads"))
    models(settings, "run")
    duck = DuckDBReader(settings)
    yield duck
    duck.close()


def test_query_funnel_sums_days_and_recomputes_conversion(reader: DuckDBReader) -> None:
    funnel = reads.query_funnel(reader, on(0), on(20), user_role="client")
    assert isinstance(funnel, reads.ConversionFunnel)
    assert [(s.step_name, s.users) for s in funnel.steps] == [
        ("search", 2), ("profile_view", 1), ("proposal", 1), ("project", 1),
        ("milestone", 1), ("payment", 1), ("review", 1),
    ]  # fmt: skip
    assert funnel.steps[1].conversion_from_previous == 0.5
    assert funnel.steps[1].median_seconds_from_previous == 60.0
    everyone = reads.query_funnel(reader, on(0), on(0))
    assert everyone.user_role is None and everyone.steps[0].users == 3  # Bob too
    assert everyone.steps[1].conversion_from_start == pytest.approx(1 / 3)
    assert reads.query_funnel(reader, on(1), on(5)).steps == []
    with pytest.raises(InvalidRequest):
        reads.query_funnel(reader, on(1), on(0))


def test_query_cohorts_groups_weeks_under_their_cohort(reader: DuckDBReader) -> None:
    cohorts = reads.query_cohorts(reader)
    assert [(c.cohort_week, c.cohort_size) for c in cohorts] == [(on(-7), 1), (on(0), 2)]
    assert [(w.weeks_since_signup, w.retention_rate) for w in cohorts[1].weeks] == [
        (0, 1.0), (1, 0.5), (2, 0.5),
    ]  # fmt: skip
    assert [c.cohort_week for c in reads.query_cohorts(reader, since=on(0))] == [on(0)]


def test_query_user_features_types_each_day(reader: DuckDBReader) -> None:
    days = reads.query_user_features(reader, "alice")
    assert [d.activity_date for d in days] == [on(0), on(1), on(9)]
    last = days[-1]
    assert isinstance(last, reads.UserBehaviorFeatures)
    assert (last.recency_days, last.frequency_28d, last.monetary_value_28d) == (8, 2, 500.5)
    assert last.events_by_type["payment_completed"] == 1
    assert last.events_by_type["review_posted"] == 1
    assert reads.query_user_features(reader, "alice", since=on(1), until=on(1))[0].payments == 1
    assert reads.query_user_features(reader, "nobody") == []


def test_bigquery_reader_binds_parameters(bigquery_endpoint: str, tmp_path: Path) -> None:
    """The BigQuery path: the same statements through google-cloud-bigquery, values bound as
    query parameters (@name), against the emulator."""
    from google.cloud import bigquery

    settings: Settings = load_settings(
        platform_events_home=tmp_path,
        warehouse="bigquery",
        bigquery_project_id="test-project",
        bigquery_api_endpoint=bigquery_endpoint,
        models_schema="analytics_reads",
    )
    reader = BigQueryReader.from_settings(settings)
    client = reader.client
    client.create_dataset("test-project.analytics_reads", exists_ok=True)
    table = bigquery.Table(
        "test-project.analytics_reads.cohort_retention",
        schema=[
            bigquery.SchemaField("cohort_key", "STRING"),
            bigquery.SchemaField("cohort_week", "DATE"),
            bigquery.SchemaField("weeks_since_signup", "INT64"),
            bigquery.SchemaField("cohort_size", "INT64"),
            bigquery.SchemaField("active_users", "INT64"),
            bigquery.SchemaField("retention_rate", "FLOAT64"),
        ],
    )
    client.create_table(table, exists_ok=True)
    rows = [
        ("2026-01-05|0", "2026-01-05", 0, 4, 4, 1.0),
        ("2026-01-05|1", "2026-01-05", 1, 4, 1, 0.25),
        ("2026-01-12|0", "2026-01-12", 0, 2, 2, 1.0),
    ]
    names = [f.name for f in table.schema]
    assert client.insert_rows_json(table, [dict(zip(names, r, strict=True)) for r in rows]) == []
    try:
        cohorts = reads.query_cohorts(reader, until=date(2026, 1, 5))
        assert [(c.cohort_week, c.cohort_size) for c in cohorts] == [(date(2026, 1, 5), 4)]
        assert [w.retention_rate for w in cohorts[0].weeks] == [1.0, 0.25]
    finally:
        reader.close()
