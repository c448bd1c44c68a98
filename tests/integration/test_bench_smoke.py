"""``python -m bench --quick`` runs every section end to end on the test server.

No figure is asserted (speed belongs to ``make bench`` itself): only that each section ran, and
that results.json carries what a reader needs to reproduce and judge the figures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import datasets, runner
from bench.report import Progress
from platform_events.bench_command import bench_root
from platform_events.db import Conn

EXPECTED = {
    "baseline.copy",
    "emit.batched_1",
    "emit.batched_2",
    "emit.single_p99",
    "ingest.http_batch_100",
    "ingest.http_p99",
    "baseline.naive_claim",
    "stream.one_worker",
    "stream.two_workers",
    "stream.two_workers_duplicates",
    "stream.latency_p99",
    "reads.dashboard_p99",
    "reads.query_events_p99",
    "aggregation.per_100k",
    "retention.emit_max_during",
    "retention.rate",
    "bigquery.requests_per_1000",
    "bigquery.bytes_per_1000",
    "bigquery.dml_in_delivery",
    "bigquery.monthly_cost_10",
    "bigquery.monthly_cost_10000",
    "bigquery.quota_headroom_10000",
}


@pytest.mark.slow
def test_quick_bench_writes_every_figure_with_its_baseline_machine_and_versions(
    server_url: str, tmp_path: Path
) -> None:
    results = tmp_path / "results.json"
    code = runner.main(
        [
            "--quick",
            "--quiet",
            "--database-url",
            server_url,
            "--results",
            str(results),
            "--drop-datasets",
        ]
    )
    assert code == 0
    document = json.loads(results.read_text())
    assert document["failures"] == {}
    assert document["preset"] == "quick"
    assert document["machine"]["cores"] >= 1 and document["machine"]["cpu"]
    assert {"postgresql", "python", "duckdb", "psycopg"} <= document["versions"].keys()
    figures = {f["key"]: f for f in document["figures"]}
    assert figures.keys() >= EXPECTED
    for figure in figures.values():
        assert {"label", "value", "unit", "ratio", "targets", "met", "details"} <= figure.keys()
        if figure["baseline"] is not None:
            assert figure["baseline"] in figures, figure["key"]
    assert figures["emit.batched_1"]["baseline"] == "baseline.copy"
    assert figures["emit.batched_1"]["ratio"] is not None
    assert [t["text"] for t in figures["reads.dashboard_p99"]["targets"]] == ["< 10 ms"]
    # Two workers delivered the whole backlog once.
    assert figures["stream.two_workers_duplicates"]["value"] == 0
    assert figures["stream.two_workers_duplicates"]["details"]["missing"] == 0
    assert figures["retention.rate"]["details"]["expired_left"] == 0
    # BigQuery delivery: counted at the transport, no DML, cost judged against the list price.
    assert figures["bigquery.dml_in_delivery"]["value"] == 0
    assert figures["bigquery.requests_per_1000"]["details"]["by_method"]["AppendRows"] > 0
    assert figures["bigquery.monthly_cost_10000"]["baseline"] == "bigquery.list_price_10000"


def test_bench_command_finds_the_checkouts_bench_folder() -> None:
    root = bench_root()
    assert root is not None and (root / "bench" / "__main__.py").is_file()


def test_bulk_load_without_indexes_leaves_every_partition_indexed_as_migrated(
    conn: Conn,
) -> None:
    def index_state() -> list[tuple[str, bool]]:
        rows = conn.execute(
            "SELECT c.relname AS name, x.indisvalid AS valid FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname LIKE 'platform_event%' ORDER BY 1"
        ).fetchall()
        return [(str(r["name"]), bool(r["valid"])) for r in rows]

    before = index_state()
    types = datasets.catalogue_types(conn)
    start = datetime.now(UTC) - timedelta(days=1)
    datasets.without_indexes(
        conn,
        Progress(quiet=True),
        lambda: datasets.generate(conn, 500, start=start, span=timedelta(hours=2), types=types),
    )
    assert index_state() == before
    assert all(valid for _, valid in before)
    row = conn.execute("SELECT count(*) AS n FROM platform_events").fetchone()
    assert row is not None and row["n"] == 500
