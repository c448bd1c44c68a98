"""The jobs' log contract (platform_events.jobs docstring, read by infra/monitoring's log-based
metrics): one JSON summary line per run, with severity, message, job, duration and the counts,
and no user id, payload value or secret anywhere in what the run logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.logs import JsonFormatter
from tests.builders import emit
from tests.integration.jobs_http import TOKEN, call, client

AUDIT_KEY = "audit-key-never-logged"
PERSONAL = ("carol-4711", "s-carol-4711", "198.51.100.77", "left-handed violin", "Firefox/140.0")

# function, body, job name, count fields documented in platform_events/jobs/__init__.py
RUNS: list[tuple[str, dict[str, object], str, set[str]]] = [
    ("aggregate_events", {}, "aggregate", {"buckets", "ranges", "mode"}),
    ("cleanup_metrics", {}, "cleanup", {"metrics_removed", "partitions_created"}),
    (
        "apply_retention",
        {},
        "retention",
        {
            "deleted_total",
            "partitions_retired",
            "warehouse_deleted",
            "quarantine_purged",
            "dry_run",
            "complete",
        },
    ),
    (
        "reprocess_events",
        {"failed": True},
        "reprocess",
        {"failed_requeued", "requeued", "reaggregated_buckets"},
    ),
    (
        "erase_user",
        {"user_id": "carol-4711", "requested_by": "dpo"},
        "erase_user",
        {"erased", "postgres_events", "warehouse_events", "queue_failed"},
    ),
    (
        "pipeline_status",
        {},
        "status",
        {"backlog", "pending", "failed", "oldest_pending_age_s", "erasure_queue"},
    ),
]


def test_every_job_logs_one_json_summary_with_counts_and_nothing_personal_or_secret(
    settings: Settings, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    audited = settings.model_copy(update={"erasure_audit_key": SecretStr(AUDIT_KEY)})
    emit(
        conn,
        "search.performed",
        user_id="carol-4711",
        session_id="s-carol-4711",
        event_data={"query": "left-handed violin", "results_count": 1},
        metadata={"ip": "198.51.100.77", "user_agent": "Firefox/140.0"},
        occurred_at=datetime.now(UTC) - timedelta(minutes=30),
    )
    emit(conn, "user.login", user_id="carol-4711", session_id="s-carol-4711")
    http = client(audited)
    assert call(http, "stream_platform_events", {})[1]["delivered"] == 2

    for function, body, job, fields in RUNS:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            status, answer = call(http, function, body)
        assert status == 200, (function, answer)
        records = [r for r in caplog.records if r.name.startswith("platform_events")]
        lines = [JsonFormatter().format(r) for r in records]
        entries = [json.loads(line) for line in lines]
        summaries = [e for e in entries if e["message"] == f"{job} finished"]
        assert len(summaries) == 1, (job, entries)
        summary = summaries[0]
        assert summary["severity"] == "INFO" and summary["job"] == job
        assert isinstance(summary["duration_ms"], float) and summary["duration_ms"] >= 0
        assert fields <= set(summary), (job, sorted(summary))
        text = "\n".join(lines)
        for forbidden in (*PERSONAL, AUDIT_KEY, TOKEN):
            assert forbidden not in text, (job, forbidden)
        if job == "erase_user":
            assert (summary["erased"], summary["postgres_events"]) == (1, 2)
            assert summary["warehouse_events"] == 2
