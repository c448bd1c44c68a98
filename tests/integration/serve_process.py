"""``platform-events serve`` as a real process (gunicorn) on a free loopback port, for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def running_serve(
    env: Mapping[str, str], log: Path, *, threads: int = 8, deadline_s: float = 90.0
) -> Iterator[str]:
    """Start ``serve`` with ``env`` (over the test's own environment); yield its base URL.

    Waits for ``/healthz`` (or the process to die, or ``deadline_s``); stopped with SIGTERM,
    killed if it has not exited 15 s later.
    """
    port = free_port()
    full = {**os.environ, "PYTHONPATH": str(FUNCTIONS), **env}
    if "DATABASE_URL" not in env:  # the embedded default, as a user's first `serve`
        full.pop("DATABASE_URL", None)
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "platform_events",
                "serve",
                "--port",
                str(port),
                "--threads",
                str(threads),
            ],
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        started = time.monotonic()
        while not _ready(url):
            if process.poll() is not None or time.monotonic() - started > deadline_s:
                raise RuntimeError(f"serve did not start: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
