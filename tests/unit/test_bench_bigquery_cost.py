"""The BigQuery cost and quota arithmetic of ``make bench`` (pure)."""

from __future__ import annotations

import math

import pytest

from bench import bigquery_cost as cost
from bench.bigquery_cost import Traffic

# What the sink sends for 1,000 events in one batch: one stream, one append, finalize, commit.
ONE_BATCH = Traffic(
    events=1_000,
    batches=1,
    requests={
        "CreateWriteStream": 1,
        "AppendRows": 1,
        "FinalizeWriteStream": 1,
        "BatchCommitWriteStreams": 1,
    },
    request_bytes={"AppendRows": 1_064_000, "CreateWriteStream": 60},
    row_bytes=1_000_000,
)


def test_the_first_two_tib_a_month_are_free_then_each_gib_costs_the_list_price() -> None:
    assert cost.ingest_cost(cost.FREE_BYTES_PER_MONTH) == 0
    assert cost.ingest_cost(cost.FREE_BYTES_PER_MONTH + 40 * cost.GIB) == pytest.approx(1.0)


def test_ten_thousand_1kb_events_a_second_cost_the_list_price_of_their_bytes_plus_overhead() -> (
    None
):
    at = cost.project(ONE_BATCH, 10_000, batch_size=1_000)
    billed = 10_000 * (1024 + 64) * cost.SECONDS_PER_MONTH
    assert at.billed_bytes_per_month == pytest.approx(billed)
    assert at.list_price == pytest.approx(
        (10_000 * 1024 * cost.SECONDS_PER_MONTH - 2 * cost.TIB) / cost.GIB * 0.025
    )
    assert 575 < at.list_price < 577  # ~24.5 TiB a month
    assert at.cost_ratio == pytest.approx(at.monthly_cost / at.list_price)
    assert 1.0 < at.cost_ratio < 1.1


def test_ten_events_a_second_stay_inside_the_free_tier() -> None:
    at = cost.project(ONE_BATCH, 10, batch_size=1_000)
    assert at.monthly_cost == 0 and at.list_price == 0
    assert math.isnan(at.cost_ratio)


def test_any_query_during_delivery_makes_the_cost_unbounded() -> None:
    with_dml = Traffic(**{**ONE_BATCH.__dict__, "queries": 1})
    assert math.isinf(cost.project(with_dml, 10_000, batch_size=1_000).monthly_cost)


def test_one_stream_per_batch_bounds_the_batch_size_by_the_create_write_stream_quota() -> None:
    small = cost.project(ONE_BATCH, 10_000, batch_size=1_000)
    assert small.create_streams_per_hour == 36_000
    assert small.create_stream_headroom == pytest.approx(10_000 / 36_000)
    assert small.min_batch_for_stream_quota == 3_600
    assert cost.project(ONE_BATCH, 10_000, batch_size=5_000).create_stream_headroom > 1


def test_throughput_and_connection_headroom_against_the_multi_region_quotas() -> None:
    at = cost.project(ONE_BATCH, 10_000, batch_size=5_000)
    assert at.throughput_headroom == pytest.approx(3e9 / (10_000 * 1088))
    assert at.connection_headroom == 10_000  # one worker, one connection
    assert at.requests_per_s["AppendRows"] == pytest.approx(10)
    assert ONE_BATCH.per_1000(ONE_BATCH.requests)["CreateWriteStream"] == 1
