"""The IAM contract: what each function calls, what Terraform grants it, and whether they agree.

- :class:`Recorder` records every Google API call the real client libraries make in this process
  (REST through ``requests``, gRPC through any channel the libraries open) and every database
  connection (deployed, an IAM database login), while a function runs against the emulator;
- :func:`needs` turns the calls into the permissions they need, by the table of
  ``tests/data/gcp_api_permissions.json`` (a call it does not know is reported, never ignored);
- :func:`terraform_grants` reads, with python-hcl2, the roles ``infra/functions`` binds to each
  function's service account and on what (project, the warehouse dataset, one secret);
- :func:`unmet` and :func:`unneeded` compare them through ``tests/data/gcp_role_permissions.json``.

Used by tests/integration/test_iam_contract.py; after a change to a sink or a grant, rerun that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc

from tests.terraform import jobs as terraform_jobs
from tests.terraform.hcl import load_clean

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
ROLES: dict[str, dict[str, list[str]]] = json.loads(
    (DATA / "gcp_role_permissions.json").read_text(encoding="utf-8")
)["roles"]
API = json.loads((DATA / "gcp_api_permissions.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Need:
    """One permission, checked on one resource (``level`` says what kind of resource it is)."""

    permission: str
    level: str  # project | dataset | table | secret | queue | service
    resource: str  # e.g. "p.d" for a dataset, "p.d.t" for a table, the env name for a secret
    call: str


@dataclass(frozen=True)
class Grant:
    """A role bound to a function's service account on a scope: project, dataset or secret."""

    role: str
    scope: str  # project | dataset | secret | service (the function's own)
    resource: str  # "" for the project, "warehouse" for the dataset, the env name for a secret
    terraform: str  # the resource address that makes it


@dataclass
class Recorder:
    """Every Google API call and database connection made while it is active."""

    rest: list[tuple[str, str, bytes]] = field(default_factory=list)
    grpc: list[str] = field(default_factory=list)
    database_logins: int = 0

    @contextmanager
    def active(self, patch: Any) -> Iterator[Recorder]:
        """Record while inside; ``patch`` is a pytest MonkeyPatch (undone by the caller)."""
        import psycopg
        import requests
        from google.api_core import grpc_helpers

        send = requests.Session.send

        def recording_send(session: Any, request: Any, **kwargs: Any) -> Any:
            body = request.body or b""
            self.rest.append(
                (request.method, request.url, body if isinstance(body, bytes) else body.encode())
            )
            return send(session, request, **kwargs)

        patch.setattr(requests.Session, "send", recording_send)

        interceptor = _GrpcRecorder(self.grpc)

        def intercepted(factory: Callable[..., Any]) -> Callable[..., Any]:
            def make(*args: Any, **kwargs: Any) -> Any:
                return grpc.intercept_channel(factory(*args, **kwargs), interceptor)

            return make

        patch.setattr(grpc, "insecure_channel", intercepted(grpc.insecure_channel))
        patch.setattr(grpc, "secure_channel", intercepted(grpc.secure_channel))
        patch.setattr(grpc_helpers, "create_channel", intercepted(grpc_helpers.create_channel))

        # Every new connection is a login (deployed: an IAM database login). psycopg.connect is
        # Connection.connect bound at import, and a pool calls the class method: patch both.
        connect = psycopg.Connection.connect

        def recording_connect(*args: Any, **kwargs: Any) -> Any:
            self.database_logins += 1
            return connect(*args, **kwargs)

        patch.setattr(psycopg, "connect", recording_connect)
        patch.setattr(psycopg.Connection, "connect", staticmethod(recording_connect))
        yield self


class _GrpcRecorder(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """A client interceptor of every RPC kind that notes the full method name."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    def _note(self, details: Any) -> None:
        method = details.method
        self.into.append(method.decode() if isinstance(method, bytes) else str(method))

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self._note(details)
        return continuation(details, request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        self._note(details)
        return continuation(details, request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        self._note(details)
        return continuation(details, requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        self._note(details)
        return continuation(details, requests)


def _route(method: str, path: str) -> dict[str, Any] | None:
    for entry in API["rest"]:
        if entry["method"] != method:
            continue
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(entry["path"])) + "$"
        if re.match(pattern, path):
            return dict(entry)
    return None


_TABLE_REF = re.compile(r"`([\w-]+)\.(\w+)\.(\w+)`")
_DML = re.compile(r"^\s*(MERGE|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _job_needs(body: bytes, call: str) -> list[Need]:
    """What a job's configuration touches: its load destination, the tables its query names."""
    text = body.decode("utf-8", "replace")
    start = text.find("{")
    if start < 0:
        return []
    try:
        job, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return []
    config = job.get("configuration", {})
    found: list[Need] = []
    if "load" in config:
        dest = config["load"]["destinationTable"]
        table = f"{dest['projectId']}.{dest['datasetId']}.{dest['tableId']}"
        for permission, level in API["job_configurations"]["load"]:
            resource = table if level == "table" else table.rsplit(".", 1)[0]
            found.append(Need(permission, level, resource, call + " (load)"))
    query = config.get("query", {}).get("query") if "query" in config else job.get("query")
    if query:
        tables = [".".join(ref) for ref in _TABLE_REF.findall(query)]
        for table in tables:
            for permission, level in API["job_configurations"]["query_reads"]:
                found.append(Need(permission, level, table, call + " (query)"))
        if _DML.match(query) and tables:
            for permission, level in API["job_configurations"]["query_dml_target"]:
                found.append(Need(permission, level, tables[0], call + " (DML)"))
    return found


def _bigquery_resource(level: str, path: str) -> str:
    parts = path.split("/")
    named = {parts[i]: parts[i + 1] for i in range(len(parts) - 1)}
    project = named.get("projects", "")
    dataset = named.get("datasets", "")
    if level == "project":
        return project
    if level == "dataset":
        return f"{project}.{dataset}"
    return f"{project}.{dataset}.{named.get('tables', '')}"


def needs(
    recorder: Recorder, *, secrets: list[str], iam_login: bool, fans_out: bool = False
) -> tuple[list[Need], list[str]]:
    """The permissions the recorded calls need, and the calls the table does not know.

    ``fans_out``: the function is deployed with STREAM_FANOUT_URL, so under a backlog it invokes
    its own service (authenticated, an ID token of its own account): run.routes.invoke on itself.
    """
    found: list[Need] = []
    unknown: list[str] = []
    for method, url, body in recorder.rest:
        path = urlsplit(url).path
        route = _route(method, path)
        if route is None:
            unknown.append(f"{method} {path}")
            continue
        for permission, level in route["needs"]:
            found.append(Need(permission, level, _bigquery_resource(level, path), route["api"]))
        if route.get("job"):
            found.extend(_job_needs(body, route["api"]))
    for method in recorder.grpc:
        if method not in API["grpc"]:
            unknown.append(f"gRPC {method}")
            continue
        for permission, level in API["grpc"][method]:
            found.append(Need(permission, level, "*", method))
    for secret in secrets:
        for permission, level in API["platform"]["secret environment variable"]:
            found.append(Need(permission, level, secret, f"secret environment variable {secret}"))
    if iam_login and recorder.database_logins:
        for permission, level in API["platform"]["Cloud SQL IAM database login"]:
            found.append(Need(permission, level, "", "Cloud SQL IAM database login"))
    if fans_out:
        for permission, level in API["platform"]["self-invocation (stream fan-out)"]:
            found.append(Need(permission, level, "self", "self-invocation (stream fan-out)"))
    return found, unknown


def _covers(grant: Grant, need: Need, warehouse_dataset: str) -> bool:
    role = ROLES[grant.role]
    if grant.scope == "project":  # a project binding reaches every resource of the project
        return need.permission in role["permissions"]
    if grant.scope == "dataset":
        in_dataset = need.resource == warehouse_dataset or need.resource.startswith(
            warehouse_dataset + "."
        )
        return (
            need.level in ("dataset", "table")
            and (in_dataset or need.resource == "*")
            and need.permission in role.get("dataset_level", [])
        )
    if grant.scope == "secret":
        return (
            need.level == "secret"
            and need.resource == grant.resource
            and need.permission in role["permissions"]
        )
    if grant.scope == "service":  # a binding on the function's own Cloud Run service
        return (
            need.level == "service"
            and need.resource == grant.resource
            and need.permission in role["permissions"]
        )
    raise AssertionError(f"unknown grant scope {grant.scope}")


def unmet(found: list[Need], grants: list[Grant], warehouse_dataset: str) -> list[Need]:
    """The needs no grant covers."""
    return [n for n in found if not any(_covers(g, n, warehouse_dataset) for g in grants)]


def unneeded(found: list[Need], grants: list[Grant], warehouse_dataset: str) -> list[Grant]:
    """Grants the calls do not need: without each, nothing more is left unmet."""
    baseline = unmet(found, grants, warehouse_dataset)
    return [
        grant
        for grant in grants
        if unmet(found, [g for g in grants if g is not grant], warehouse_dataset) == baseline
    ]


# --- What Terraform grants -----------------------------------------------------------------------


def _resources(path: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for block in load_clean(path).get("resource", []):
        for rtype, named in block.items():
            for name, body in named.items():
                yield rtype, name, body


def terraform_functions() -> dict[str, dict[str, Any]]:
    """``local.function_defaults`` of terraform.tf, from the job registry's infra/jobs.json
    (``local.functions`` is it with the pool-size overrides): key => entry point, database user,
    secrets, ..."""
    return terraform_jobs.function_defaults()


# infra/functions' for_each expressions over the function map, evaluated for a BigQuery warehouse.
# A grant over a for_each not listed here fails the test: teach it here, deliberately.
_SECRET_ENV = {
    "write_keys": "INGEST_WRITE_KEYS",
    "erasure_key": "ERASURE_AUDIT_KEY",
    "login_passwords": "LOGIN_PASSWORDS",
}


def mounted_secrets(fn: dict[str, Any]) -> list[str]:
    """Secret environment variables of one function (infra/functions' local.function_secrets)."""
    found = ["DATABASE_URL"] if fn["database_user"] == "owner" else []
    return found + [_SECRET_ENV[s] for s in fn.get("secrets", [])]


_FOR_EACH: dict[str, Callable[[dict[str, Any]], bool]] = {
    "${var.functions}": lambda fn: True,
    "${local.iam_functions}": lambda fn: fn["database_user"] != "owner",
    "${local.warehouse_functions}": lambda fn: bool(fn.get("warehouse_access", False)),
    "${local.fanout_functions}": lambda fn: str(fn.get("fanout", 0)) not in ("0", ""),
}
_FUNCTION_MEMBERS = (
    "${google_service_account.function[each.key].member}",
    "${google_service_account.function[each.value.function].member}",
)


def terraform_grants() -> dict[str, list[Grant]]:
    """Function key => the IAM roles infra/functions binds to its service account."""
    functions = terraform_functions()
    grants: dict[str, list[Grant]] = {key: [] for key in functions}
    for path in sorted((ROOT / "infra").rglob("*.tf")):
        for rtype, name, body in _resources(path):
            member = body.get("member")
            if not (rtype.endswith("_iam_member") and member in _FUNCTION_MEMBERS):
                continue
            address = f"{path.parent.name}.{rtype}.{name}"
            role = body["role"]
            if role not in ROLES:
                raise AssertionError(
                    f"{address} grants {role}: add it to gcp_role_permissions.json"
                )
            if rtype == "google_secret_manager_secret_iam_member":
                assert body["for_each"] == "${local.secret_bindings}", address
                for key, fn in functions.items():
                    for secret in mounted_secrets(fn):
                        grants[key].append(Grant(role, "secret", secret, address))
                continue
            select = _FOR_EACH.get(body.get("for_each", ""))
            if select is None:
                raise AssertionError(f"{address}: for_each {body.get('for_each')} is unknown here")
            scope = {
                "google_project_iam_member": "project",
                "google_bigquery_dataset_iam_member": "dataset",
                # Bound on the function's own Cloud Run service (its fan-out invokes itself).
                "google_cloud_run_service_iam_member": "service",
            }.get(rtype)
            if scope is None:
                raise AssertionError(f"{address}: teach tests/iam_contract.py the scope of {rtype}")
            for key, fn in functions.items():
                if select(fn):
                    resource = {"dataset": "warehouse", "service": "self"}.get(scope, "")
                    grants[key].append(Grant(role, scope, resource, address))
    return grants
