"""The deployment's migration step, replayed: infra/migrations/trigger.sh (the Cloud Run job's
command, run here as it is) calls migrate_database (functions/main.py, served by
functions-framework) against a PostgreSQL prepared the way Cloud SQL is, with the login names
Terraform generates by default, twice; then every login does what its group role allows, and no
more.

Prepared like Cloud SQL: a fresh server (no group role exists before migration 0006 runs); the
owner is a built-in user, a member of ``cloudsqlsuperuser`` (CREATEROLE, CREATEDB, not a superuser)
and the database belongs to ``cloudsqlsuperuser``; IAM service-account users are created by the
service (here the superuser plays ``cloudsqladmin``) as LOGIN members of
``cloudsqliamserviceaccount``; passwords are checked (scram-sha-256), so an IAM login proves that
its token was the password. Cloud Run's IAM check and the metadata server are the two fakes (no
local server of either exists), named as such below.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from google.oauth2.credentials import Credentials
from psycopg.rows import dict_row
from pydantic import SecretStr
from werkzeug.serving import make_server

from platform_events import catalog_files, cloudsql, db, errors, local, logins, migrate
from platform_events.config import get_settings, load_settings
from tests.terraform import jobs as terraform_jobs
from tests.terraform.hcl import load_clean

ROOT = Path(__file__).resolve().parents[2]
TRIGGER = ROOT / "infra" / "migrations" / "trigger.sh"
PROJECT = "test-project"
DATABASE = "platform_events"


def _locals(path: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in load_clean(path).get("locals", []):
        merged.update(block)
    return merged


def terraform_default_logins() -> tuple[str, list[dict[str, str]]]:
    """The owner and the request's logins as Terraform builds them with its default variables."""
    root = load_clean(ROOT / "terraform.tf")
    variables = {name: body for block in root["variable"] for name, body in block.items()}
    name = variables["name"]["default"]
    database = _locals(ROOT / "infra" / "database" / "main.tf")
    assert database["prefix"] == '${replace(var.name, "-", "_")}'
    prefix = name.replace("-", "_")
    owner_template, login_template = re.findall(
        r'"(\$\{local\.prefix\}[^"]*)"', database["user_names"]
    )
    assert owner_template == "${local.prefix}_owner"

    def login_name(key: str) -> str:
        return login_template.replace("${local.prefix}", prefix).replace("${key}", key)

    password_logins = [
        {"user": login_name(key), "role": role, "auth": "password"}
        for key, role in database["users"].items()
        if role not in (None, "null", "${null}")
    ]
    functions_main = (ROOT / "infra" / "functions" / "main.tf").read_text(encoding="utf-8")
    assert 'account_id   = "${var.name}-${each.key}"' in functions_main
    functions = terraform_jobs.function_defaults()
    iam_logins = [
        {
            # trimsuffix(email, ".gserviceaccount.com") of the function's service account
            "user": f"{name}-{key}@{PROJECT}.iam",
            "role": f"platform_events_{fn['database_user']}",
            "auth": "iam",
        }
        for key, fn in functions.items()
        if fn["database_user"] != "owner"
    ]
    return owner_template.replace("${local.prefix}", prefix), password_logins + iam_logins


OWNER, LOGINS = terraform_default_logins()


def _connect(url: str) -> db.Conn:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def _url(socket_dir: str, user: str, password: str = "", dbname: str = DATABASE) -> str:
    return psycopg.conninfo.make_conninfo(
        host=socket_dir, user=user, password=password, dbname=dbname
    )


PG15_BIN = Path("/usr/lib/postgresql/15/bin")


@contextmanager
def _embedded_server(home: Path) -> Iterator[str]:
    settings = load_settings(platform_events_home=home, database_url=None)
    try:
        yield local.start(settings)
    finally:
        local.stop(settings)


@contextmanager
def _pg15_server(workdir: Path) -> Iterator[str]:
    """A throwaway cluster of Debian's PostgreSQL 15 (Cloud SQL's oldest supported major)."""
    if not (PG15_BIN / "postgres").exists():
        pytest.skip(f"no PostgreSQL 15 binaries at {PG15_BIN} (.ci/run installs them)")
    user = None
    if os.geteuid() == 0:  # initdb refuses root
        user = next((u for u in ("postgres", "embedded_postgres") if _user_exists(u)), None)
        if user is None:
            pytest.skip("running as root with no unprivileged postgres user for PostgreSQL 15")
    data, sock = workdir / "data", workdir / "sock"
    sock.mkdir()
    if user:
        shutil.chown(workdir, user)
        shutil.chown(sock, user)
    as_user = ["runuser", "-u", user, "--"] if user else []
    initdb = [str(PG15_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run(
        [*as_user, *initdb, "--no-sync", "-E", "UTF8"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-k {sock} -c listen_addresses='' -c fsync=off"
    pg_ctl = [str(PG15_BIN / "pg_ctl"), "-D", str(data), "-w"]
    subprocess.run(
        [*as_user, *pg_ctl, "-l", str(workdir / "log"), "-o", options, "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"postgresql://postgres@/postgres?host={sock}"
    finally:
        subprocess.run(
            [*as_user, *pg_ctl, "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# Cloud SQL runs 15 and 16; 16 changed who may grant a role (ADMIN OPTION): 18 has that rule.
@pytest.fixture(scope="module", params=["postgres18", "postgres15"])
def cloud_sql(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A fresh server prepared like a new Cloud SQL instance; yields its socket and passwords."""
    workdir = tmp_path_factory.mktemp(f"cloud-sql-{request.param}")
    server = _embedded_server(workdir) if request.param == "postgres18" else _pg15_server(workdir)
    with server as admin_url:
        for prepared in _prepare(admin_url):
            yield {**prepared, "major": 18 if request.param == "postgres18" else 15}


def _prepare(admin_url: str) -> Iterator[dict[str, Any]]:
    socket_dir = parse_qs(urlsplit(admin_url).query)["host"][0]
    owner_password = secrets.token_urlsafe(24)
    iam_tokens = {
        login["user"]: secrets.token_urlsafe(32) for login in LOGINS if login["auth"] == "iam"
    }
    with psycopg.connect(admin_url, autocommit=True) as admin:
        hba = admin.execute("SHOW hba_file").fetchone()
        assert hba is not None
        # Passwords are checked, except the superuser's (our cloudsqladmin) over the socket.
        Path(str(hba[0])).write_text(
            "local all postgres trust\nlocal all all scram-sha-256\n", encoding="utf-8"
        )
        admin.execute("SELECT pg_reload_conf()")
        admin.execute("CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB")
        admin.execute("CREATE ROLE cloudsqliamserviceaccount NOLOGIN")
        admin.execute(
            psycopg.sql.SQL(
                "CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {} IN ROLE cloudsqlsuperuser"
            ).format(psycopg.sql.Identifier(OWNER), psycopg.sql.Literal(owner_password))
        )
        admin.execute(f'CREATE DATABASE "{DATABASE}" OWNER cloudsqlsuperuser')
        for user, token in iam_tokens.items():  # google_sql_user type CLOUD_IAM_SERVICE_ACCOUNT
            admin.execute(
                psycopg.sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} IN ROLE cloudsqliamserviceaccount"
                ).format(psycopg.sql.Identifier(user), psycopg.sql.Literal(token))
            )
    passwords = {
        login["user"]: secrets.token_urlsafe(30) for login in LOGINS if login["auth"] == "password"
    }
    yield {
        "socket": socket_dir,
        # The owner's DATABASE_URL secret, as infra/database formats it (here on the socket).
        "owner_url": f"postgresql://{OWNER}:{owner_password}@/{DATABASE}?host={socket_dir}",
        "passwords": passwords,
        "iam_tokens": iam_tokens,
    }


class FakeMetadataServer(BaseHTTPRequestHandler):
    """Fake of the GCE metadata server's identity endpoint: a token per audience."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if (
            parts.path != "/computeMetadata/v1/instance/service-account/identity"
            or self.headers.get("Metadata-Flavor") != "Google"
        ):
            self.send_error(404)
            return
        audience = parse_qs(parts.query)["audience"][0]
        body = f"id-token-for:{audience}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeCloudRunIam:
    """Fake of Cloud Run's invoker check in front of the function: 403 without an identity token
    for the service's URL, and 403 for the first call (the invoker grant still propagating)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.url = ""
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        expected = f"Bearer id-token-for:{self.url}"
        if self.calls == 1 or environ.get("HTTP_AUTHORIZATION") != expected:
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"Forbidden: Your client does not have permission"]
        return self.app(environ, start_response)


def _serve(app: Any) -> tuple[Any, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def migrate_function(cloud_sql: dict[str, Any]) -> Iterator[FakeCloudRunIam]:
    """migrate_database as deployed: functions-framework over functions/main.py, its environment
    what Terraform sets (the owner's DATABASE_URL and LOGIN_PASSWORDS from Secret Manager)."""
    import functions_framework

    patch = pytest.MonkeyPatch()
    patch.setenv("DATABASE_URL", cloud_sql["owner_url"])
    patch.setenv("LOGIN_PASSWORDS", json.dumps(cloud_sql["passwords"]))
    patch.setenv("WAREHOUSE", "duckdb")
    get_settings.cache_clear()
    app = functions_framework.create_app(
        target="migrate_database", source=str(ROOT / "functions" / "main.py")
    )
    guarded = FakeCloudRunIam(app)
    server, url = _serve(guarded)
    guarded.url = url
    try:
        yield guarded
    finally:
        server.shutdown()
        patch.undo()
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def metadata_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMetadataServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def run_trigger(url: str, metadata: str) -> subprocess.CompletedProcess[str]:
    """trigger.sh as the job runs it: its environment is what infra/migrations/main.tf sets."""
    env = {
        "PATH": os.environ["PATH"],
        "MIGRATE_URL": url,
        "MIGRATE_BODY": json.dumps({"logins": LOGINS}),
        "GCE_METADATA_HOST": metadata,
        "MIGRATE_RETRY_SECONDS": "0",
        "MIGRATE_DEADLINE_SECONDS": "60",
    }
    return subprocess.run(
        ["sh", str(TRIGGER)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _answer(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


@pytest.fixture(scope="module")
def replayed(
    cloud_sql: dict[str, Any], migrate_function: FakeCloudRunIam, metadata_host: str
) -> dict[str, Any]:
    """The step run twice, as two applies would."""
    first = run_trigger(migrate_function.url, metadata_host)
    second = run_trigger(migrate_function.url, metadata_host)
    return {"first": first, "second": second, "function": migrate_function}


def test_the_owner_is_not_a_superuser(cloud_sql: dict[str, Any]) -> None:
    with _connect(cloud_sql["owner_url"]) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, current_setting('server_version_num')::int / 10000"
            " AS major FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == {"rolsuper": False, "rolcreaterole": True, "major": cloud_sql["major"]}


def test_default_login_names_never_collide_with_the_group_roles() -> None:
    names = {login["user"] for login in LOGINS} | {OWNER}
    assert not names & {login["role"] for login in LOGINS}
    assert {login["role"] for login in LOGINS} == {
        "platform_events_app",
        "platform_events_ingest",
        "platform_events_pipeline",
        "platform_events_analyst",
    }


def test_the_step_migrates_and_sets_up_every_login_through_a_first_refusal(
    replayed: dict[str, Any],
) -> None:
    first = replayed["first"]
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Forbidden" in first.stdout  # the propagating grant was retried
    answer = _answer(first)
    assert answer["applied"] == [f"{m.version}_{m.name}" for m in migrate.discover()]
    by_user = {entry["user"]: entry for entry in answer["logins"]}
    assert set(by_user) == {login["user"] for login in LOGINS}
    for login in LOGINS:
        entry = by_user[login["user"]]
        assert entry["granted"] is True
        assert entry["login"] == ("created" if login["auth"] == "password" else "exists")


def test_the_second_run_is_a_no_op(replayed: dict[str, Any], cloud_sql: dict[str, Any]) -> None:
    second = replayed["second"]
    assert second.returncode == 0, second.stdout + second.stderr
    answer = _answer(second)
    assert answer["applied"] == []
    assert all(entry["granted"] is False for entry in answer["logins"])
    assert {e["login"] for e in answer["logins"] if e["user"] in cloud_sql["passwords"]} == {
        "updated"
    }


def test_the_step_applies_a_changed_catalogue(
    replayed: dict[str, Any], cloud_sql: dict[str, Any], metadata_host: str, tmp_path: Path
) -> None:
    # A team's catalogue: the built-in types plus its own file, nothing else changed.
    team = tmp_path / "catalogue"
    shutil.copytree(catalog_files.builtin_dir(), team)
    shutil.copytree(
        ROOT / "functions" / "platform_events" / "demo_catalogue", team, dirs_exist_ok=True
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLATFORM_EVENTS_CATALOG", str(team))
        get_settings.cache_clear()
        try:
            changed = run_trigger(replayed["function"].url, metadata_host)
            again = run_trigger(replayed["function"].url, metadata_host)
        finally:
            get_settings.cache_clear()
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert [(c["kind"], c["event_type"]) for c in _answer(changed)["catalog"]] == [
        ("add_type", "invoice.sent")
    ]
    assert _answer(changed)["applied"] == []
    assert _answer(again)["catalog"] == []
    with _connect(cloud_sql["owner_url"]) as conn:
        row = conn.execute(
            "SELECT owner, category, is_active FROM event_schemas WHERE event_type = 'invoice.sent'"
        ).fetchone()
    assert row == {"owner": "billing", "category": "transaction", "is_active": True}


def test_a_failed_step_exits_non_zero_with_the_functions_answer(
    replayed: dict[str, Any], metadata_host: str
) -> None:
    env_body = {
        "logins": [
            {"user": "platform_events_app", "role": "platform_events_app", "auth": "password"}
        ]
    }
    completed = subprocess.run(
        ["sh", str(TRIGGER)],
        env={
            "PATH": os.environ["PATH"],
            "MIGRATE_URL": replayed["function"].url,
            "MIGRATE_BODY": json.dumps(env_body),
            "GCE_METADATA_HOST": metadata_host,
            "MIGRATE_RETRY_SECONDS": "0",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert "failed with HTTP 400" in completed.stderr
    assert json.loads(completed.stdout.splitlines()[-1])["error"]["field"] == "logins"


def _login(cloud_sql: dict[str, Any], user: str) -> db.Conn:
    return _connect(_url(cloud_sql["socket"], user, cloud_sql["passwords"][user]))


def _login_of(role: str, auth: str = "password") -> str:
    return next(x["user"] for x in LOGINS if x["role"] == role and x["auth"] == auth)


def _denied(conn: db.Conn, statement: str) -> None:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    assert caught.value.sqlstate == "42501", statement


def test_the_app_login_emits_and_reads_only_its_users_events(
    replayed: dict[str, Any], cloud_sql: dict[str, Any]
) -> None:
    with _login(cloud_sql, _login_of("platform_events_app")) as app:
        with app.transaction():
            app.execute("SELECT set_config('platform_events.user_id', 'u-replay', true)")
            app.execute(
                "SELECT emit_platform_event('user.login', '{\"method\": \"sso\"}', 'u-replay')"
            )
            seen = app.execute("SELECT count(*) AS n FROM platform_events").fetchone()
        assert seen == {"n": 1}
        assert app.execute("SELECT count(*) AS n FROM platform_events").fetchone() == {"n": 0}
        _denied(app, "SELECT * FROM platform_event_delivery")
        _denied(app, "CREATE TABLE app_made (id int)")


def test_the_analyst_login_reads_metrics_only(
    replayed: dict[str, Any], cloud_sql: dict[str, Any]
) -> None:
    with _login(cloud_sql, _login_of("platform_events_analyst")) as analyst:
        analyst.execute("SELECT count(*) FROM event_aggregations")
        analyst.execute("SELECT count(*) FROM platform_metrics_realtime")
        _denied(analyst, "SELECT * FROM platform_events")


def _iam_settings(cloud_sql: dict[str, Any], user: str) -> Any:
    return load_settings(
        database_url=f"postgresql:///{DATABASE}?host={cloud_sql['socket']}",
        database_iam_user=user,
        warehouse="duckdb",
    )


def _token_credentials(tokens: list[str]) -> tuple[Credentials, list[int]]:
    """Real google-auth credentials whose refresh hands out ``tokens`` in turn, an hour each."""
    refreshes: list[int] = []

    def refresh(request: Any, scopes: Any) -> tuple[str, datetime]:
        refreshes.append(1)
        token = tokens[min(len(refreshes), len(tokens)) - 1]
        # google-auth compares expiry as naive UTC
        return token, (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None)

    return Credentials(token=None, refresh_handler=refresh), refreshes


def test_iam_logins_connect_with_the_runtimes_token_and_hold_their_group_role(
    replayed: dict[str, Any], cloud_sql: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_user = _login_of("platform_events_ingest", "iam")
    credentials, refreshes = _token_credentials([cloud_sql["iam_tokens"][ingest_user]])
    monkeypatch.setattr(cloudsql, "_credentials", credentials)
    settings = _iam_settings(cloud_sql, ingest_user)
    with db.connect(settings, autocommit=True) as ingest:
        assert ingest.execute("SELECT current_user AS u").fetchone() == {"u": ingest_user}
        ingest.execute("SELECT emit_platform_event('user.login', '{\"method\": \"sso\"}', 'u-2')")
        _denied(ingest, "SELECT * FROM platform_events")
    with db.connect(settings, autocommit=True):
        pass
    assert len(refreshes) == 1  # the token is reused while valid

    pipeline_user = next(
        x["user"] for x in LOGINS if x["auth"] == "iam" and x["role"] == "platform_events_pipeline"
    )
    credentials, _ = _token_credentials([cloud_sql["iam_tokens"][pipeline_user]])
    monkeypatch.setattr(cloudsql, "_credentials", credentials)
    with db.connect(_iam_settings(cloud_sql, pipeline_user), autocommit=True) as pipeline:
        claimed = pipeline.execute("SELECT * FROM get_pending_events(10)").fetchall()
        assert len(claimed) >= 1
        _denied(pipeline, "CREATE TABLE pipeline_made (id int)")


def test_an_expired_token_is_refreshed_before_a_new_connection(
    replayed: dict[str, Any], cloud_sql: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _login_of("platform_events_ingest", "iam")
    token = cloud_sql["iam_tokens"][user]
    credentials, refreshes = _token_credentials(["stale-token", token])
    monkeypatch.setattr(cloudsql, "_credentials", credentials)
    credentials.refresh(None)  # "stale-token", an hour
    credentials.expiry = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None)
    with db.connect(_iam_settings(cloud_sql, user), autocommit=True) as conn:
        assert conn.execute("SELECT current_user AS u").fetchone() == {"u": user}
    assert len(refreshes) == 2


def test_an_iam_login_with_a_wrong_token_is_refused(
    replayed: dict[str, Any], cloud_sql: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _login_of("platform_events_ingest", "iam")
    credentials, _ = _token_credentials(["not-the-token"])
    monkeypatch.setattr(cloudsql, "_credentials", credentials)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        db.connect(_iam_settings(cloud_sql, user), autocommit=True)


def test_no_login_can_log_in_as_a_group_role_or_create_roles(
    replayed: dict[str, Any], cloud_sql: dict[str, Any]
) -> None:
    with _connect(cloud_sql["owner_url"]) as owner:
        rows = owner.execute(
            "SELECT rolname, rolcanlogin, rolcreaterole, rolsuper FROM pg_roles "
            "WHERE rolname LIKE 'platform%%' OR rolname LIKE '%%@%%'"
        ).fetchall()
    by_name = {r["rolname"]: r for r in rows}
    for login in LOGINS:
        assert by_name[login["role"]]["rolcanlogin"] is False
        assert by_name[login["user"]]["rolcanlogin"] is True
        assert by_name[login["user"]]["rolcreaterole"] is False
        assert by_name[login["user"]]["rolsuper"] is False


def test_a_group_role_the_owner_cannot_grant_is_named_with_the_fix(
    replayed: dict[str, Any], cloud_sql: dict[str, Any]
) -> None:
    """A group role someone else created (PostgreSQL 16+: no ADMIN OPTION for the owner)."""
    if cloud_sql["major"] < 16:
        pytest.skip("PostgreSQL 15 lets CREATEROLE grant any non-superuser role")
    socket_dir = cloud_sql["socket"]
    with _connect(_url(socket_dir, "postgres", dbname="postgres")) as admin:
        admin.execute(
            "REVOKE ADMIN OPTION FOR platform_events_analyst FROM "
            + psycopg.sql.Identifier(OWNER).as_string(admin)
            + " GRANTED BY postgres CASCADE"  # with it go the grants the owner made of it
        )
    try:
        login = logins.Login(
            "late_analyst_login", "platform_events_analyst", "password", SecretStr("pw-1")
        )
        with (
            _connect(cloud_sql["owner_url"]) as owner,
            pytest.raises(errors.LoginError, match="needs ADMIN OPTION on platform_events_analyst"),
        ):
            logins.ensure(owner, [login])
        with _connect(cloud_sql["owner_url"]) as owner:  # nothing half done
            assert (
                owner.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = 'late_analyst_login'"
                ).fetchone()
                is None
            )
    finally:
        with _connect(_url(socket_dir, "postgres", dbname="postgres")) as admin:
            admin.execute(
                "GRANT platform_events_analyst TO "
                + psycopg.sql.Identifier(OWNER).as_string(admin)
                + " WITH ADMIN OPTION GRANTED BY postgres"
            )
        with _connect(cloud_sql["owner_url"]) as owner:
            logins.ensure(
                owner,
                [
                    logins.Login(
                        _login_of("platform_events_analyst"),
                        "platform_events_analyst",
                        "password",
                        SecretStr(cloud_sql["passwords"][_login_of("platform_events_analyst")]),
                    )
                ],
            )
