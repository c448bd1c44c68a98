"""HTTP ingest through ``serve``: eight clients posting Segment batches of 100 over loopback.

``serve`` runs as its own process (gunicorn, as deployed) on the scratch database; the bodies
(what ``Analytics(mode="http")`` sends for the same marketplace events) are built before the
clock starts, and each client keeps one HTTP/1.1 connection, as SDKs do. Every answer must be
200 with every message accepted, else the run fails (a figure of failed requests is no figure).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from platform_events.client import Event
from platform_events.client.transport import segment_message

CLIENTS = 8
PER_BATCH = 100
WRITE_KEY = "wk_bench_http"
FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"serve did not answer /healthz in 90 s: {log.read_text()[-2000:]}")


def _bodies(events: Sequence[Event]) -> list[bytes]:
    return [
        json.dumps({"batch": [segment_message(e) for e in events[i : i + PER_BATCH]]}).encode()
        for i in range(0, len(events), PER_BATCH)
    ]


def _client(port: int, bodies: list[bytes], latencies: list[float], errors: list[str]) -> None:
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode(),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for body in bodies:
            started = time.perf_counter()
            connection.request("POST", "/ingest_events/v1/batch", body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            latencies.append(time.perf_counter() - started)
            if response.status != 200 or answer["accepted"] != len(answer["results"]):
                errors.append(f"{response.status}: {str(answer)[:300]}")
    finally:
        connection.close()


def run(database_url: str, events: Sequence[Event]) -> tuple[float, list[float]]:
    """(events/s, per-request seconds) of ``events`` posted by CLIENTS clients through serve."""
    bodies = _bodies(events)
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix="pe-bench-serve-"))
    log = home / "serve.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(FUNCTIONS),
        "DATABASE_URL": database_url,
        "PLATFORM_EVENTS_HOME": str(home),
        "INGEST_WRITE_KEYS": WRITE_KEY,
        "LOCAL_AUTH_TOKEN": "bench-http-token-0123456789",
        "LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "platform_events", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(port, process, log)
        shares = [bodies[i::CLIENTS] for i in range(CLIENTS)]
        latencies: list[float] = []
        errors: list[str] = []
        threads = [
            threading.Thread(target=_client, args=(port, share, latencies, errors))
            for share in shares
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed through serve, first: {errors[0]}")
    return len(events) / elapsed, latencies
