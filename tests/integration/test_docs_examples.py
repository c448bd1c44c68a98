"""The docs' examples work as written: every shell block of README.md and docs/*.md that calls
``serve`` is run by bash, its curl commands literally, against a real ``platform-events serve``
process (only the port is the test's own free one), and every Python block configuring an SDK runs
against it too, with the events checked in PostgreSQL. A shell block of another kind must be one
this test knows (deployed-only, or ``make`` targets CI itself runs), so a new example cannot go
untested.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from platform_events.db import with_database
from tests.conftest import create_test_database, drop_test_database
from tests.integration.serve_process import running_serve

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
WRITE_KEY = "wk_example_0123456789"  # the key the docs' examples use
TOKEN = "docs-example-token-0123456789"
SHELL = {"sh", "bash", "shell", "console"}
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(languages: set[str]) -> list[str]:
    return [
        body
        for page in PAGES
        for lang, body in _FENCE.findall(page.read_text(encoding="utf-8"))
        if lang in languages
    ]


def _local(block: str) -> bool:
    return "localhost:8080" in block


def _deployed_only(block: str) -> bool:
    return "terraform output" in block and "gcloud auth print-identity-token" in block


def _make_targets(block: str) -> bool:
    return all(line.startswith("make ") for line in block.strip().splitlines())


@dataclass(frozen=True)
class Serve:
    url: str
    database_url: str

    def localize(self, text: str) -> str:
        return text.replace("localhost:8080", self.url.removeprefix("http://"))


@pytest.fixture(scope="module")
def serve(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Serve]:
    name = create_test_database(server_url, template_db)
    home = tmp_path_factory.mktemp("docs-serve")
    database_url = with_database(server_url, name)
    env = {
        "DATABASE_URL": database_url,
        "PLATFORM_EVENTS_HOME": str(home),
        "INGEST_WRITE_KEYS": WRITE_KEY,
        "LOCAL_AUTH_TOKEN": TOKEN,
    }
    try:
        with running_serve(env, Path(home) / "serve.log", threads=4) as url:
            yield Serve(url, database_url)
    finally:
        drop_test_database(server_url, name)


def test_every_shell_example_is_one_this_test_runs_or_knows() -> None:
    shell = blocks(SHELL)
    unknown = [b for b in shell if not (_local(b) or _deployed_only(b) or _make_targets(b))]
    assert not unknown, f"shell examples in README.md or docs/ no test runs: {unknown}"
    assert sum(_local(b) for b in shell) >= 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("block", [b for b in blocks(SHELL) if _local(b)])
def test_a_shell_example_against_serve_answers_2xx(serve: Serve, block: str) -> None:
    # The commands run as written; the wrapper only prints each answer's HTTP status after it.
    script = (
        "set -euo pipefail\n"
        "curl() { command curl -sS --write-out '\\n%{http_code}\\n' \"$@\"; }\n"
        + serve.localize(block)
    )
    done = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": "/usr/bin:/bin", "LOCAL_AUTH_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    statuses = [line for line in lines if re.fullmatch(r"[0-9]{3}", line)]
    assert statuses and all(s.startswith("2") for s in statuses), done.stdout
    # Ingest answers 200 with per-message results: none of the examples' messages is rejected.
    assert '"status": "rejected"' not in done.stdout, done.stdout


@pytest.mark.parametrize("block", [b for b in blocks({"python"}) if _local(b)])
def test_an_sdk_example_delivers_through_serve(serve: Serve, block: str) -> None:
    with psycopg.connect(serve.database_url) as conn:
        query = "SELECT count(*) FROM platform_events WHERE event_type = 'user.login'"
        before = conn.execute(query).fetchone()
        done = subprocess.run(
            [sys.executable, "-c", serve.localize(block)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        after = conn.execute(query).fetchone()
    assert before is not None and after == (before[0] + 1,), done.stderr
