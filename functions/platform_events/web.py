"""The HTTP layer shared by every function: JSON in, JSON out, errors as 400 with the field named.

Entry points in ``functions/main.py`` are one line each: ``return web.handle(request, job)``.
A job is a plain function ``(body: BaseModel, settings) -> dict``; it never sees Flask.
Authentication is not here: deployed, Cloud Functions' IAM rejects unauthenticated calls before
our code runs; locally ``platform-events serve`` checks the bearer token.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from platform_events import jsonsafe, logs
from platform_events.config import Settings, get_settings
from platform_events.errors import (
    BadInput,
    Conflict,
    InvalidRequest,
    Misconfigured,
    NotFound,
    Transient,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Job = Callable[[M, Settings], dict[str, Any]]

MAX_BODY_BYTES = 1_048_576


class JsonResponse:
    """A framework-neutral response: Flask (functions-framework) and WSGI both accept the tuple."""

    def __init__(self, body: dict[str, Any], status: int = 200) -> None:
        self.body = body
        self.status = status

    def as_flask(self) -> tuple[str, int, dict[str, str]]:
        return json.dumps(self.body, default=str), self.status, {"Content-Type": "application/json"}


def error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def parse_model(model: type[M], body: Any) -> M:
    """Validate a JSON body against ``model``; InvalidRequest names the first bad field."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", field="body")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = f"{field}: {error['msg']}"
        code = "unknown_field" if error["type"] == "extra_forbidden" else "invalid_value"
        raise InvalidRequest(message, field=field, code=code) from None


def read_json(raw: bytes, content_type: str | None = None) -> Any:
    """Decode a JSON request body (empty means ``{}``); InvalidRequest names what cannot be used.

    Any Content-Type is read as JSON when the body parses (``curl -d`` sends form encoding), and
    every value must be one the store can hold (jsonsafe): a NUL in a user id is a 400 naming
    the field, not a database error.
    """
    del content_type  # the body decides: any Content-Type is read as JSON when it parses
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest(
            f"the request body is over {MAX_BODY_BYTES} bytes", field="body", code="too_large"
        )
    if not raw.strip():
        return {}
    body = jsonsafe.loads(raw)  # InvalidJson is BadInput: a 400 naming the body
    unstorable = jsonsafe.problem(body)
    if unstorable is not None:
        raise InvalidRequest(unstorable.message, field=unstorable.path, code=unstorable.code)
    return body


def read_body(stream: Any, limit: int = MAX_BODY_BYTES) -> bytes:
    """At most ``limit + 1`` bytes of a request body, chunked transfer encoding included.

    The WSGI server decodes the chunks (gunicorn; werkzeug marks them ``wsgi.input_terminated``),
    so the stream is read to its end instead of by Content-Length; the extra byte lets
    :func:`read_json` say the body is too large without reading all of it.
    """
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(65_536, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def error_response(exc: Exception, job_name: str) -> JsonResponse:
    """The answer to a job's exception, by its category (errors.py), never by its class.

    Bad input, not found and conflict tell the caller what it sent; misconfiguration says what to
    fix (500: the deployment, not the call, is wrong). A transient or unexpected error keeps its
    details (hosts, warehouse text) in the log under an incident id.
    """
    if isinstance(exc, BadInput):
        log.warning(
            "rejected request",
            extra={"fields": {"job": job_name, "field": exc.field, "code": exc.code}},
        )
        return JsonResponse({"error": exc.to_dict()}, 400)
    if isinstance(exc, NotFound):
        return JsonResponse(error_body("not_found", str(exc), None), 404)
    if isinstance(exc, Conflict):
        return JsonResponse(error_body("conflict", str(exc), None), 409)
    if isinstance(exc, Misconfigured):
        logs.log_error(log, "configuration error", exc, traceback_too=False, job=job_name)
        return JsonResponse(error_body("configuration", str(exc), None), 500)
    incident = uuid.uuid4().hex[:12]
    if isinstance(exc, Transient):
        logs.log_error(log, "job unavailable", exc, job=job_name, incident=incident)
        message = f"a dependency is unavailable, retry later; see logs for incident {incident}"
        return JsonResponse(error_body("unavailable", message, None), 503)
    logs.log_error(log, "job failed", exc, job=job_name, incident=incident)
    return JsonResponse(
        error_body("internal", f"the job failed; see logs for incident {incident}", None), 500
    )


def run_job(
    model: type[M],
    job: Callable[[M, Settings], dict[str, Any]],
    raw: bytes,
    content_type: str | None,
    *,
    settings: Settings | None = None,
    name: str | None = None,
) -> JsonResponse:
    """Parse, run, answer: the whole life of one HTTP call, without any web framework."""
    started = time.monotonic()
    job_name = name or str(getattr(job, "__name__", "job"))
    try:
        params = parse_model(model, read_json(raw, content_type))
        result = job(params, settings or get_settings())
    except Exception as exc:
        return error_response(exc, job_name)
    result.setdefault("duration_ms", round((time.monotonic() - started) * 1000, 1))
    return JsonResponse(result, 200)


def handle(
    request: Any,
    model: type[M],
    job: Callable[[M, Settings], dict[str, Any]],
    name: str | None = None,
) -> tuple[str, int, dict[str, str]]:
    """Adapter for a functions-framework (Flask) request; only POST carries a body.

    ``name`` (the entry point's) labels the request's log lines; every job's function is ``run``.
    """
    if request.method not in ("POST", "GET"):
        return JsonResponse(error_body("method_not_allowed", "use POST", None), 405).as_flask()
    raw = read_body(request.stream) if request.method == "POST" else b""
    return run_job(model, job, raw, request.content_type, name=name).as_flask()
