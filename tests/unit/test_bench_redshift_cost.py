"""The Redshift cost and quota arithmetic of ``make bench`` (pure): loads per second from the
schedule and batch size, Serverless compute with its minimum charge, S3 PUTs, Data API headroom,
and the time a LOCK-serialized load may take."""

from __future__ import annotations

import math

import pytest

from bench import redshift_cost as rc

# Measured shape with loads of 1,000 events: one BatchExecuteStatement and five polls a load.
USAGE = rc.Usage(
    batch_size=1000, batch_executes=1.0, describes=5.0, s3_puts=1.0, s3_deletes=1.0, s3_bytes=4e5
)


def test_each_scheduled_run_loads_its_minute_in_full_batches() -> None:
    assert rc.loads_per_second(10, 1000) == pytest.approx(1 / 60)  # 600 events: one load
    assert rc.loads_per_second(10_000, 1000) == pytest.approx(10)
    assert rc.loads_per_second(10_000, 50_000) == pytest.approx(0.2)


def test_a_load_a_minute_bills_the_base_capacity_all_month() -> None:
    full_month = 730 * rc.BASE_RPU * rc.RPU_HOUR_USD
    assert rc.compute_usd(1 / 60, 2.0) == pytest.approx(full_month)  # the 60 s minimum
    assert rc.compute_usd(10, 2.0) == pytest.approx(full_month)  # cannot exceed the month
    assert rc.compute_usd(1 / 3600, 2.0) == pytest.approx(full_month / 60)  # hourly: 60 s of 3600
    assert rc.compute_usd(0, 2.0) == 0


def test_ten_thousand_events_a_second_in_small_batches_exhausts_the_quota_and_the_lock() -> None:
    small = rc.project(USAGE, 10_000, 1000, 2.0)
    assert small.batch_execute_headroom == pytest.approx(20 / 10)
    assert small.describe_headroom == pytest.approx(100 / 50)
    assert small.load_budget_s == pytest.approx(0.1)  # far below a COPY's seconds
    assert small.s3_usd == pytest.approx(10 * 730 * 3600 / 1000 * 0.005)
    large = rc.project(USAGE, 10_000, 50_000, 2.0)
    assert large.load_budget_s == pytest.approx(5.0)
    assert large.batch_execute_headroom == pytest.approx(100)
    assert large.total_usd == pytest.approx(large.compute_usd + large.s3_usd)


def test_ten_events_a_second_is_the_minimum_charge_and_cents_of_s3() -> None:
    month = rc.project(USAGE, 10, 1000, 2.0)
    assert month.compute_usd == pytest.approx(2190.0)
    assert month.s3_usd < 1
    assert month.load_budget_s == pytest.approx(60)
    assert not math.isnan(month.describe_headroom)
