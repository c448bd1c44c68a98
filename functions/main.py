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

logs.configure(get_settings().log_level)


@functions_framework.http
def ingest_events(request: Any) -> Any:
    """Segment's tracking API (/v1/batch, /v1/track, /v1/identify, /v1/page); see ingest/handler."""
    return ingest_http.respond_flask(request)
