"""The console's WSGI application: routes, sign-in, pages and their JSON twins."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.wrappers import Request, Response

from platform_events.config import Settings
from platform_events.console import auth, data

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Clock = Callable[[], float]

PAGES = {"/": "pipeline", "/analytics": "analytics"}
API = {"/api/console/pipeline": "pipeline", "/api/console/analytics": "analytics"}
STATIC = {
    "/static/uplot.min.js": ("uplot/uPlot.iife.min.js", "text/javascript"),
    "/static/uplot.min.css": ("uplot/uPlot.min.css", "text/css"),
    "/static/console.js": ("console.js", "text/javascript"),
    "/static/console.css": ("console.css", "text/css"),
}
# Scripts and styles from this server only; nothing inline, nothing framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a form POST carries `Origin: null`
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def handles(path: str) -> bool:
    """True for the console's paths (none collides with a function's name)."""
    return path in PAGES or path in API or path in STATIC or path in ("/login", "/logout")


def _static(name: str) -> bytes:
    return resources.files("platform_events.console").joinpath("static", name).read_bytes()


def _heat(rate: float) -> str:
    """The CSS class of a retention rate: ten steps of colour (no inline style under the CSP)."""
    return f"h{min(10, max(0, round(rate * 10)))}"


def _duration(seconds: float) -> str:
    """A median time between steps as a person reads it: 45 s, 12 min, 3.5 h, 8.1 d."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds:.0f} s"


def wsgi_app(settings: Settings, token: str, clock: Clock = time.time) -> WsgiApp:
    """The console for ``settings``, signed in with ``token`` (serve's bearer token)."""
    templates = Environment(
        loader=PackageLoader("platform_events.console", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    templates.filters["heat"] = _heat
    templates.filters["duration"] = _duration
    readers: dict[str, Callable[[Settings], dict[str, Any]]] = {
        "pipeline": data.pipeline,
        "analytics": data.analytics,
    }

    def respond(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def login_page(request: Request, error: str | None, status: int) -> Response:
        nonce = auth.new_nonce()
        html = templates.get_template("login.html").render(csrf=nonce, error=error)
        response = Response(html, status=status, mimetype="text/html")
        response.set_cookie(
            auth.LOGIN_COOKIE, nonce, max_age=auth.LOGIN_SECONDS, path="/login",
            httponly=True, samesite="Strict", secure=request.is_secure,
        )  # fmt: skip
        return response

    def sign_in(request: Request) -> Response:
        if not auth.same_origin(request.headers.get("Origin"), request.host_url):
            return Response("cross-origin sign-in refused", status=403)
        if not auth.same_nonce(request.cookies.get(auth.LOGIN_COOKIE), request.form.get("csrf")):
            return login_page(request, "The sign-in form expired: try again.", 400)
        if not auth.bearer_ok(f"Bearer {request.form.get('token', '')}", token):
            log.warning("console sign-in refused")
            return login_page(request, "That token is not this server's.", 401)
        response = Response(status=303, headers={"Location": "/"})
        response.set_cookie(
            auth.SESSION_COOKIE, auth.new_session(token, clock()), max_age=auth.SESSION_SECONDS,
            path="/", httponly=True, samesite="Strict", secure=request.is_secure,
        )  # fmt: skip
        response.delete_cookie(auth.LOGIN_COOKIE, path="/login")
        return response

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return respond(route(request))(environ, start_response)

    def route(request: Request) -> Response:
        path = request.path
        if path in STATIC:
            name, mimetype = STATIC[path]
            return Response(_static(name), mimetype=mimetype)
        if path == "/login":
            if request.method == "POST":
                return sign_in(request)
            return login_page(request, None, 200)
        session = request.cookies.get(auth.SESSION_COOKIE)
        signed_in = auth.valid_session(token, session, clock())
        scripted = auth.bearer_ok(request.headers.get("Authorization"), token)
        if path == "/logout" and request.method == "POST":
            if not signed_in or not auth.valid_csrf(token, session, request.form.get("csrf")):
                return Response("sign-out refused", status=403)
            response = Response(status=303, headers={"Location": "/login"})
            response.delete_cookie(auth.SESSION_COOKIE, path="/")
            return response
        if not (signed_in or scripted):
            if path in API:
                body = {"error": {"code": "unauthorized", "message": "sign in or send "
                                  "Authorization: Bearer <LOCAL_AUTH_TOKEN>", "field": None}}  # fmt: skip
                return Response(json.dumps(body), status=401, mimetype="application/json",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
            return Response(status=303, headers={"Location": "/login"})
        if request.method != "GET":
            return Response("use GET", status=405)
        view = API.get(path) or PAGES.get(path)
        if view is None:
            return Response("not found", status=404)
        try:
            values = readers[view](settings)
        except Exception:
            # The event store or the warehouse is down, or the models are not built yet: say
            # so, keep the details (which may name hosts) in the log under an incident id.
            incident = uuid.uuid4().hex[:12]
            log.exception(
                "console read failed", extra={"fields": {"page": view, "incident": incident}}
            )
            message = f"could not read the {view} data (incident {incident} in the logs)"
            if view == "analytics":
                message += "; are the models built? `platform-events models run`"
            if path in API:
                body = {"error": {"code": "unavailable", "message": message, "field": None}}
                return Response(json.dumps(body), status=503, mimetype="application/json")
            return Response(message, status=503, mimetype="text/plain")
        if path in API:
            return Response(json.dumps(values), mimetype="application/json")
        html = templates.get_template(f"{view}.html").render(
            page=view,
            data=values,
            chart=json.dumps(values).replace("<", "\\u003c"),  # safe inside <script>
            csrf=auth.csrf_token(token, session) if signed_in and session else None,
        )
        return Response(html, mimetype="text/html")

    return app
