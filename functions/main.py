"""Cloud Functions (gen2) HTTP entry points: parse the request, call one job, answer JSON.

Every function here is deployed by infra/functions (one per entry point, see terraform.tf) and
served locally by ``platform-events serve`` on the same routes. No logic lives in this file.
"""

from __future__ import annotations

from typing import Any

import functions_framework

from platform_events import logs, web
from platform_events.config import get_settings
from platform_events.ingest import http as ingest_http
from platform_events.jobs import aggregate, cleanup, gdpr, migrations, reprocess, retention, status
from platform_events.pipeline import stream

logs.configure(get_settings().log_level)


@functions_framework.http
def ingest_events(request: Any) -> Any:
    """Segment's tracking API (/v1/batch, /v1/track, /v1/identify, /v1/page); see ingest/handler."""
    return ingest_http.respond_flask(request)


@functions_framework.http
def stream_platform_events(request: Any) -> Any:
    """Claim, enrich and deliver pending events to the warehouse (every minute); see pipeline/stream."""
    return web.handle(request, stream.StreamRequest, stream.run, "stream_platform_events")


@functions_framework.http
def aggregate_events(request: Any) -> Any:
    """Recompute hourly/daily/weekly aggregations (scheduled hourly); see jobs/aggregate."""
    return web.handle(request, aggregate.AggregateRequest, aggregate.run, "aggregate_events")


@functions_framework.http
def cleanup_metrics(request: Any) -> Any:
    """Remove expired real-time metrics, ensure partitions (every 15 min); see jobs/cleanup."""
    return web.handle(request, cleanup.CleanupRequest, cleanup.run, "cleanup_metrics")


@functions_framework.http
def apply_retention(request: Any) -> Any:
    """Per-type retention in Postgres and the warehouse (daily 02:00); see jobs/retention."""
    return web.handle(request, retention.RetentionRequest, retention.run, "apply_retention")


@functions_framework.http
def reprocess_events(request: Any) -> Any:
    """Failed events back to pending; a range re-sent and re-aggregated; see jobs/reprocess."""
    return web.handle(request, reprocess.ReprocessRequest, reprocess.run, "reprocess_events")


@functions_framework.http
def erase_user(request: Any) -> Any:
    """GDPR erasure of one user, or of the queued ones; see jobs/gdpr."""
    return web.handle(request, gdpr.EraseRequest, gdpr.run, "erase_user")


@functions_framework.http
def pipeline_status(request: Any) -> Any:
    """Backlog, oldest pending age, failures, syncs; see jobs/status."""
    return web.handle(request, status.StatusRequest, status.run, "pipeline_status")


@functions_framework.http
def migrate_database(request: Any) -> Any:
    """Apply migrations/ and set up the login users (the deployment's step); see jobs/migrations."""
    return web.handle(request, migrations.MigrateRequest, migrations.run, "migrate_database")
