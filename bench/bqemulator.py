"""A bqemulator (PyPI, 1.4.0) on free loopback ports: the BigQuery REST API and the Storage
Read/Write gRPC API, for the BigQuery bench section and the integration tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT = "test-project"


@dataclass(frozen=True)
class Endpoints:
    rest: str  # http://127.0.0.1:PORT (BigQuery API)
    grpc: str  # 127.0.0.1:PORT (Storage Read/Write API)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install_spatial_extension() -> bool:
    """bqemulator loads DuckDB's spatial extension; install it from its PyPI wheel (offline).
    False when the wheel has no extension file for this platform."""
    import duckdb
    import duckdb_extension_spatial

    found = sorted(Path(duckdb_extension_spatial.__file__).parent.rglob("*.duckdb_extension"))
    if not found:
        return False
    with duckdb.connect() as conn:
        conn.execute(f"INSTALL '{found[0]}'")
    return True


@contextmanager
def running(log: Path, *, timeout_s: float = 60.0) -> Iterator[Endpoints]:
    """An emulator for the duration of the block (its output in ``log``)."""
    rest, grpc = free_port(), free_port()
    executable = Path(sys.executable).with_name("bqemulator")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(executable),
                "start",
                "--rest-port",
                str(rest),
                "--grpc-port",
                str(grpc),
                "--project",
                PROJECT,
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            for port in (rest, grpc):
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"bqemulator did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.1)
    try:
        yield Endpoints(rest=f"http://127.0.0.1:{rest}", grpc=f"127.0.0.1:{grpc}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
