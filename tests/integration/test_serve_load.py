"""``serve`` under load on the embedded default: eight clients posting Segment batches of 100
over loopback (bounded: 20 batches each, 180 s at most) get no 5xx, and every accepted event is
stored exactly once. Also: the embedded server's URL is resolved once however many threads ask.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from platform_events import db, local, migrate
from platform_events.config import Settings, load_settings
from tests.builders import segment_track
from tests.integration.serve_process import running_serve

WRITE_KEY = "wk_load"
CLIENTS, BATCHES, PER_BATCH = 8, 20, 100
DEADLINE_S = 180.0


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A fresh embedded default under its own home, migrated, as `db start` + `migrate` leave it."""
    home = tmp_path_factory.mktemp("serve-load")
    settings = load_settings(platform_events_home=home, database_url=None)
    with pytest.MonkeyPatch.context() as patch:
        # Resolved as the command line registers it: without DATABASE_URL, the embedded server.
        patch.setattr(db, "_unset_url", [])
        db.resolve_unset_url_with(local.start)
        with db.connect(settings, autocommit=True) as conn:
            migrate.migrate(conn)
        try:
            yield settings
        finally:
            local.stop(settings)


def _post(url: str, batch: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    basic = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        url + "/ingest_events/v1/batch",
        data=json.dumps({"batch": batch}).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {"error": exc.read().decode(errors="replace")[:500]}


def test_eight_clients_through_serve_get_no_5xx_and_every_event_is_stored_once(
    embedded: Settings, tmp_path: Path
) -> None:
    env = {
        "PLATFORM_EVENTS_HOME": str(embedded.home),
        "INGEST_WRITE_KEYS": WRITE_KEY,
        "LOCAL_AUTH_TOKEN": "load-test-token-0123456789",
    }
    statuses: list[int] = []
    accepted: list[str] = []
    lock = threading.Lock()
    started = time.monotonic()

    def client(url: str) -> None:
        for _ in range(BATCHES):
            if time.monotonic() - started > DEADLINE_S:
                return
            status, answer = _post(url, [segment_track() for _ in range(PER_BATCH)])
            ids = [r["event_id"] for r in answer.get("results", []) if r["status"] == "accepted"]
            with lock:
                statuses.append(status)
                accepted.extend(ids)

    with running_serve(env, tmp_path / "serve.log") as url, ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client, url) for _ in range(CLIENTS)]:
            future.result()
    assert len(statuses) == CLIENTS * BATCHES, "the load did not finish within its deadline"
    assert set(statuses) == {200}, sorted(set(statuses))
    assert len(accepted) == CLIENTS * BATCHES * PER_BATCH == len(set(accepted))
    with psycopg.connect(db.database_url(embedded)) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM platform_events"
            " WHERE event_id = ANY(%s::uuid[])",
            (accepted,),
        ).fetchone()
    assert row == (len(accepted), len(accepted))


def test_concurrent_resolutions_of_the_embedded_server_start_it_once(
    embedded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counted(settings: Settings) -> str:
        calls.append(1)
        return local.start(settings)

    monkeypatch.setattr(db, "_unset_url", [])
    db.resolve_unset_url_with(counted)
    monkeypatch.setattr(db, "_urls", {})
    barrier = threading.Barrier(16)

    def resolve() -> str:
        barrier.wait(timeout=30)
        return db.database_url(embedded)

    with ThreadPoolExecutor(16) as pool:
        urls = list(pool.map(lambda _: resolve(), range(16)))
    assert len(set(urls)) == 1 and len(calls) == 1
