"""Adapters from HTTP frameworks to the ingest handler: functions-framework (Flask) and WSGI.

The WSGI app serves ingest alone (tests, or a quick local endpoint for an SDK); ``serve`` mounts
the functions-framework entry point with the other functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import get_input_stream

from platform_events.config import Settings, get_settings
from platform_events.ingest.handler import IngestRequest, IngestResponse, handle

_BODY_CEILING = 8 * 1024 * 1024  # read no more than this off the wire, gzip or not


def _request(
    method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes, remote: str | None
) -> IngestRequest:
    return IngestRequest(
        method=method.upper(),
        path=path,
        headers={name.lower(): value for name, value in headers},
        body=body,
        remote_addr=remote,
    )


def respond_flask(
    request: Any, settings: Settings | None = None
) -> tuple[str, int, dict[str, str]]:
    """The functions-framework entry point's body: Flask request in, Flask response tuple out."""
    body = request.stream.read(_BODY_CEILING) if request.method == "POST" else b""
    answer = handle(
        _request(request.method, request.path, request.headers.items(), body, request.remote_addr),
        settings or get_settings(),
    )
    return _encode(answer), answer.status, {"Content-Type": "application/json"}


def _encode(answer: IngestResponse) -> str:
    return json.dumps(answer.body, default=str)


StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip


def wsgi_app(settings: Settings) -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    """A plain WSGI application serving the ingest routes with ``settings``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        # Content-Length, or a chunked body the server decoded (wsgi.input_terminated).
        body = get_input_stream(environ, max_content_length=None).read(_BODY_CEILING)
        headers = [
            (key[5:].replace("_", "-"), value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("Content-Type", environ["CONTENT_TYPE"]))
        answer = handle(
            _request(
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO", "/"),
                headers,
                body,
                environ.get("REMOTE_ADDR"),
            ),
            settings,
        )
        payload = _encode(answer).encode()
        start_response(
            f"{answer.status} {_REASONS.get(answer.status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    return app
