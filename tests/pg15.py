"""Run the SQL test-suite against PostgreSQL 15 (what Cloud SQL runs), when the machine has it.

Uses ``TEST_DATABASE_URL`` when set; otherwise starts a throwaway cluster from the Debian
PostgreSQL 15 binaries (``/usr/lib/postgresql/15/bin``) in a temporary directory, as an
unprivileged OS user when run as root, and stops it afterwards. On a developer machine without
either it prints a notice and succeeds; in CI (``CI=true``, set by .ci/run, which installs
Debian's postgresql-15 first) it fails instead: Cloud SQL's oldest supported major is always
tested there.

Usage: python tests/pg15.py [pytest args...]
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(os.environ.get("PG15_BIN", "/usr/lib/postgresql/15/bin"))
# The tests that exercise our SQL directly, and the suites whose guarantees rest on it (exactly
# once, the client, ingest); the rest reach the SQL through these. Globs, so a new test file of
# those suites is covered without an edit here.
SQL_SUITE = [
    "tests/integration/test_event_store.py",
    "tests/integration/test_security.py",
    "tests/integration/test_grants.py",
    "tests/integration/test_migrations.py",
    "tests/integration/test_schema_file.py",
    "tests/integration/test_catalog.py",
    "tests/integration/test_catalog_apply.py",
    "tests/integration/test_store_maintenance.py",
    "tests/integration/test_storable_values.py",
    "tests/integration/test_validation_once.py",
    "tests/integration/test_logs_hold_no_payload.py",
    "tests/integration/test_client*.py",
    "tests/integration/test_ingest*.py",
    "tests/integration/test_exactly_once*.py",
    "tests/integration/test_quarantine.py",
    "tests/integration/test_dead_letter.py",
    "tests/integration/test_aggregate.py",
    "tests/integration/test_retention.py",
    "tests/integration/test_ledger_window.py",
    "tests/integration/test_store_layout_migration.py",
    "tests/integration/test_erasure.py",
    "tests/integration/test_stream*.py",
]
PORT = "54315"


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def suite() -> list[str]:
    """The test files of SQL_SUITE that exist, in order, each once."""
    root = Path(__file__).resolve().parents[1]
    found: list[str] = []
    for pattern in SQL_SUITE:
        for path in sorted(root.glob(pattern)):
            relative = str(path.relative_to(root))
            if relative not in found:
                found.append(relative)
    return found


def _run_pytest(url: str, extra: list[str]) -> int:
    env = {**os.environ, "TEST_DATABASE_URL": url}
    root = Path(__file__).resolve().parents[1]
    return subprocess.call([sys.executable, "-m", "pytest", *suite(), *extra], env=env, cwd=root)


def _unavailable(reason: str) -> int:
    """Skip on a developer machine; fail in CI, where the pass must run."""
    if os.environ.get("CI", "").lower() == "true":
        print(
            f"ERROR: {reason}; CI must run the PostgreSQL 15 pass (.ci/run installs postgresql-15)"
        )
        return 1
    print(f"NOTICE: {reason}; the PostgreSQL 15 pass is skipped on this machine")
    return 0


def main(extra: list[str]) -> int:
    if os.environ.get("TEST_DATABASE_URL"):
        return _run_pytest(os.environ["TEST_DATABASE_URL"], extra)
    if not (BIN / "postgres").exists():
        return _unavailable(f"no PostgreSQL 15 binaries at {BIN}")
    user = None
    if os.geteuid() == 0:
        user = next(
            (name for name in ("postgres", "embedded_postgres") if _user_exists(name)), None
        )
        if user is None:
            return _unavailable("running as root with no unprivileged postgres user")
    workdir = Path(tempfile.mkdtemp(prefix="pe-pg15-"))
    data, sock = workdir / "data", workdir / "sock"
    sock.mkdir()
    if user:
        shutil.chown(workdir, user)
        shutil.chown(sock, user)
    try:
        subprocess.run(
            _as_user(
                user,
                [
                    str(BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            _as_user(
                user,
                [
                    str(BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-w",
                    "-l",
                    str(workdir / "log"),
                    "-o",
                    f"-k {sock} -p {PORT} -c listen_addresses='' -c fsync=off",
                    "start",
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"PostgreSQL 15 test cluster at {sock}")
        return _run_pytest(f"postgresql://postgres@/postgres?host={sock}&port={PORT}", extra)
    finally:
        subprocess.run(
            _as_user(user, [str(BIN / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
