"""``platform-events serve``: every HTTP function on one local server (gunicorn), on the deployed routes.

Routes are the Cloud Functions names: ``POST /aggregate_events``, ``/cleanup_metrics``,
``/apply_retention``, ``/reprocess_events``, ``/erase_user``, ``/pipeline_status`` (also GET),
``/stream_platform_events``, and ``/ingest_events/v1/{batch,track,identify,page}``. Each runs the
same job as the deployed function (``web.run_job``) with this server's settings.

Authentication: ``Authorization: Bearer $LOCAL_AUTH_TOKEN`` on every route (compared in constant
time), else 401 before anything else runs, unknown routes included. When LOCAL_AUTH_TOKEN is unset
a random token is generated once in ``$PLATFORM_EVENTS_HOME/local_auth_token`` (the local scheduler
reads the same file). ``ingest_events`` is the exception: it authenticates each call with a write
key (HTTP basic, INGEST_WRITE_KEYS), as deployed, because Segment SDKs cannot send a bearer token.
``/healthz`` answers without authentication and says nothing but ``ok``. The console
(platform_events.console: ``/``, ``/analytics``, ``/login``, ``/api/console/*``) signs people in
with the same token through a form that sets a session cookie, and lets scripts in with the
bearer header.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from werkzeug.wrappers import Request, Response

from platform_events import db, web
from platform_events.config import Settings
from platform_events.jobs import aggregate, cleanup, gdpr, reprocess, retention, status
from platform_events.jobs.local_secrets import auth_token
from platform_events.pipeline import stream

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Route:
    """One JSON function: its request model and job."""

    model: type[BaseModel]
    job: Callable[[Any, Settings], dict[str, Any]]


def routes() -> dict[str, Route]:
    """Every JSON function by its deployed name."""
    return {
        "aggregate_events": Route(aggregate.AggregateRequest, aggregate.run),
        "cleanup_metrics": Route(cleanup.CleanupRequest, cleanup.run),
        "apply_retention": Route(retention.RetentionRequest, retention.run),
        "reprocess_events": Route(reprocess.ReprocessRequest, reprocess.run),
        "erase_user": Route(gdpr.EraseRequest, gdpr.run),
        "pipeline_status": Route(status.StatusRequest, status.run),
        "stream_platform_events": Route(stream.StreamRequest, stream.run),
    }


def authorized(header: str | None, token: str) -> bool:
    """True when ``header`` is ``Bearer <token>`` (constant-time comparison).

    The scheme is case-insensitive (RFC 7235, section 2.1): ``bearer`` and ``BEARER`` count.
    """
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return False
    sent = credentials.strip().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(sent, token.encode())


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, default=str), status=status, mimetype="application/json", headers=headers
    )


def create_app(settings: Settings, *, token: str | None = None) -> WsgiApp:
    """The WSGI application serving every function with ``settings``."""
    from platform_events.ingest import http as ingest_http

    secret = token or auth_token(settings)
    table = routes()
    ingest = ingest_http.wsgi_app(settings)
    from platform_events import console  # the console at / (its own sign-in: cookie or bearer)

    console_app = console.wsgi_app(settings, secret)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        name = request.path.strip("/").split("/", 1)[0]
        if name == "healthz":
            return _json({"ok": True}, 200)(environ, start_response)
        if name == "ingest_events":
            return ingest(environ, start_response)
        if console.handles(request.path):
            return console_app(environ, start_response)
        if not authorized(request.headers.get("Authorization"), secret):
            answer = _json(
                web.error_body(
                    "unauthorized", "Authorization: Bearer <LOCAL_AUTH_TOKEN> required", None
                ),
                401,
                {"WWW-Authenticate": "Bearer"},
            )
            return answer(environ, start_response)
        route = table.get(name)
        if route is None:
            body = web.error_body(
                "not_found", f"no function {name!r}; functions: {', '.join(sorted(table))}", None
            )
            return _json(body, 404)(environ, start_response)
        if request.method not in ("POST", "GET"):
            body = web.error_body("method_not_allowed", "use POST", None)
            return _json(body, 405)(environ, start_response)
        raw = web.read_body(request.stream) if request.method == "POST" else b""
        result = web.run_job(
            route.model, route.job, raw, request.content_type, settings=settings, name=name
        )
        return _json(result.body, result.status)(environ, start_response)

    return app


def default_threads() -> int:
    """Request threads of ``serve``: functions-framework's default on Cloud Run (4 per CPU)."""
    return (os.cpu_count() or 1) * 4


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    workers: int = 1,
    threads: int | None = None,
) -> None:
    """Run the server until interrupted, on gunicorn as the deployed functions run.

    functions-framework serves each deployed function with gunicorn's threaded worker (one
    process, 4 threads per CPU, no request timeout); ``serve`` does the same, so what a load
    test sees here is what production does, not werkzeug's development server. The database
    URL (starting the embedded server) and the bearer token are resolved once, before any
    worker starts; each worker opens its own connection pool on first use.
    """
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    db.database_url(settings)
    app = create_app(settings)
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads or default_threads(),
        "worker_class": "gthread",
        "timeout": 0,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> WsgiApp:
            return app

    log.info(
        "serving",
        extra={
            "fields": {
                "host": host,
                "port": port,
                "workers": workers,
                "threads": options["threads"],
                "functions": sorted(routes()),
            }
        },
    )
    _Gunicorn().run()
