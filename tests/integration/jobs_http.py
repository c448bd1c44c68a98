"""Calling the operations functions through ``serve``'s WSGI app (werkzeug test client)."""

from __future__ import annotations

from typing import Any

from werkzeug.test import Client

from platform_events import server
from platform_events.config import Settings

TOKEN = "test-token-0123456789"


def client(settings: Settings) -> Client:
    return Client(server.create_app(settings, token=TOKEN))


def call(
    http: Client, function: str, body: Any = None, *, token: str | None = TOKEN
) -> tuple[int, dict[str, Any]]:
    """POST ``body`` (JSON) to ``/function``; returns the status and the decoded answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.post(f"/{function}", json=body if body is not None else {}, headers=headers)
    return response.status_code, response.get_json()


def field_of(answer: dict[str, Any]) -> str:
    return str(answer["error"]["field"])
