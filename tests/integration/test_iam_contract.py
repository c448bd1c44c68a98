"""The IAM contract: every Google API call each deployed function makes is allowed by the roles
Terraform grants that function's service account, and no grant is one its calls do not need.

Each function runs as deployed (functions-framework over functions/main.py, its environment what
infra/functions sets, the BigQuery warehouse on bqemulator) while tests/iam_contract.py records
the real client libraries' calls; the permission each needs comes from
tests/data/gcp_api_permissions.json, what each role holds from tests/data/gcp_role_permissions.json
(both cite Google's reference pages), the grants from the Terraform itself. The emulator checks no
permission at all: this test is the thin wrapper that applies BigQuery's documented IAM rules.

After a change to a sink, a job or a grant, rerun: ``pytest tests/integration/test_iam_contract.py``.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_events.config import get_settings, load_settings
from platform_events.db import with_database
from platform_events.sinks.bigquery import BigQuerySink
from platform_events.sinks.bigquery.protocol import STATE_KEY
from platform_events.sinks.checkpoints import InMemoryCheckpoint
from tests import iam_contract
from tests.builders import emit
from tests.conftest import create_test_database, drop_test_database
from tests.integration.bigquery_support import create_events_table, warehouse_batch
from tests.integration.conftest import BigQueryEmulator

MAIN = Path(__file__).resolve().parents[2] / "functions" / "main.py"
PROJECT = "test-project"
WRITE_KEY = "wk_iam_contract_0123456789"
FUNCTIONS = iam_contract.terraform_functions()
GRANTS = iam_contract.terraform_grants()
# What each function is asked to do: its scheduled body, or a representative on-demand call.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "ingest": (
        "/v1/batch",
        {
            "batch": [
                {
                    "type": "track",
                    "event": "Signed In",
                    "properties": {"method": "sso"},
                    "userId": "u-ingest",
                    "messageId": str(uuid.uuid4()),
                }
            ]
        },
    ),
    "stream": ("/", {}),
    "aggregate": ("/", {}),
    "cleanup": ("/", {}),
    "status": ("/", {}),
    "reprocess": ("/", {"failed": True}),
    "retention": ("/", {}),
    "erasure": ("/", {"user_id": "u-erase"}),
    "migrate": ("/", {"logins": []}),
}
# Order: ingest and stream first, so retention and erasure find delivered rows in the warehouse.
ORDER = ["ingest", "stream", "aggregate", "cleanup", "status", "reprocess", "retention", "erasure"]
ORDER += [key for key in FUNCTIONS if key not in ORDER]


def test_every_function_of_terraform_has_a_call_here() -> None:
    assert set(CALLS) == set(FUNCTIONS)


@pytest.fixture(scope="module")
def recorded(
    server_url: str,
    template_db: str,
    bigquery_emulator: BigQueryEmulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, dict[str, Any]]]:
    """Function key => its answer and the recorder of its calls, every function run once."""
    import functions_framework

    name = create_test_database(server_url, template_db)
    url = with_database(server_url, name)
    home = tmp_path_factory.mktemp("iam-contract")
    dataset = f"pe_iam_{uuid.uuid4().hex[:8]}"
    environment = {
        "DATABASE_URL": url,
        "PLATFORM_EVENTS_HOME": str(home),
        "WAREHOUSE": "bigquery",
        "BIGQUERY_PROJECT_ID": PROJECT,
        "BIGQUERY_DATASET_ID": dataset,
        "BIGQUERY_API_ENDPOINT": bigquery_emulator.rest,
        "BIGQUERY_STORAGE_ENDPOINT": bigquery_emulator.grpc,
        "INGEST_WRITE_KEYS": WRITE_KEY,
        "ERASURE_AUDIT_KEY": "k" * 64,
        "LOGIN_PASSWORDS": "{}",
    }
    settings = load_settings(**{k.lower(): v for k, v in environment.items()})
    # What Terraform's warehouse module creates, made before any function runs (not recorded):
    # the functions only check the table (BigQuery checks bigquery.datasets.create, a project
    # permission they rightly lack, before it looks whether a dataset exists).
    create_events_table(BigQuerySink.from_settings(settings).client, PROJECT, dataset)
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        for _ in range(3):
            emit(conn, "user.login", user_id="u-erase")
    results: dict[str, dict[str, Any]] = {}
    patch = pytest.MonkeyPatch()
    try:
        for variable, value in environment.items():
            patch.setenv(variable, value)
        for key in ORDER:
            get_settings.cache_clear()
            app = functions_framework.create_app(FUNCTIONS[key]["entry_point"], str(MAIN))
            path, body = CALLS[key]
            headers = {
                "Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
            }
            recorder = iam_contract.Recorder()
            with pytest.MonkeyPatch.context() as recording, recorder.active(recording):
                response = app.test_client().post(path, json=body, headers=headers)
            results[key] = {
                "status": response.status_code,
                "answer": response.get_json(silent=True),
                "recorder": recorder,
                "dataset": f"{PROJECT}.{dataset}",
            }
        # A worker that takes over a batch whose commit it cannot confirm asks the table which
        # events are there (a query): the stream's path after a crash, driven through the real
        # sink so its calls count against the stream's grants too.
        batch = warehouse_batch(3)
        first = InMemoryCheckpoint()
        BigQuerySink.from_settings(settings).write(batch, "iam-takeover", first)
        saved = copy.deepcopy(dict(first.load() or {}))
        saved[STATE_KEY]["stream"] += "-gone"  # committed, then expired: not found any more
        takeover = iam_contract.Recorder()
        with pytest.MonkeyPatch.context() as recording, takeover.active(recording):
            sink = BigQuerySink.from_settings(settings)
            sink.write(batch, "iam-takeover", InMemoryCheckpoint(saved))
        stream = results["stream"]["recorder"]
        stream.rest += takeover.rest
        stream.grpc += takeover.grpc
        assert any("/jobs" in url for _, url, _ in takeover.rest), "the takeover asked no table"
        yield results
    finally:
        patch.undo()
        get_settings.cache_clear()
        drop_test_database(server_url, name)


def _needs(key: str, result: dict[str, Any]) -> tuple[list[iam_contract.Need], list[str]]:
    fn = FUNCTIONS[key]
    return iam_contract.needs(
        result["recorder"],
        secrets=iam_contract.mounted_secrets(fn),
        iam_login=fn["database_user"] != "owner",
        fans_out=str(fn.get("fanout", 0)) not in ("0", ""),
    )


@pytest.mark.parametrize("key", list(FUNCTIONS))
def test_the_function_did_its_work(key: str, recorded: dict[str, dict[str, Any]]) -> None:
    result = recorded[key]
    assert result["status"] == 200, result["answer"]
    assert result["recorder"].database_logins >= 1


def test_the_warehouse_functions_really_called_bigquery(
    recorded: dict[str, dict[str, Any]],
) -> None:
    for key in ("stream", "retention", "erasure"):
        assert any("/bigquery/v2/" in url for _, url, _ in recorded[key]["recorder"].rest), key
    assert recorded["stream"]["answer"]["delivered"] >= 1


@pytest.mark.parametrize("key", list(FUNCTIONS))
def test_every_call_is_known_and_allowed_by_the_grants(
    key: str, recorded: dict[str, dict[str, Any]]
) -> None:
    result = recorded[key]
    found, unknown = _needs(key, result)
    assert not unknown, f"calls missing from gcp_api_permissions.json: {unknown}"
    # The dataset creation is the one known violation, checked on its own below.
    found = [n for n in found if n.permission != "bigquery.datasets.create"]
    missing = iam_contract.unmet(found, GRANTS[key], result["dataset"])
    assert not missing, "\n".join(
        f"{n.call} needs {n.permission} on {n.level} {n.resource}" for n in missing
    )


@pytest.mark.parametrize("key", list(FUNCTIONS))
def test_no_function_needs_to_create_a_dataset(
    key: str, recorded: dict[str, dict[str, Any]]
) -> None:
    result = recorded[key]
    found, _ = _needs(key, result)
    creating = [n for n in found if n.permission == "bigquery.datasets.create"]
    assert not iam_contract.unmet(creating, GRANTS[key], result["dataset"]), (
        f"{key} calls datasets.insert, which needs bigquery.datasets.create on the project"
    )


@pytest.mark.parametrize("key", list(FUNCTIONS))
def test_no_grant_is_one_the_calls_do_not_need(
    key: str, recorded: dict[str, dict[str, Any]]
) -> None:
    result = recorded[key]
    found, _ = _needs(key, result)
    extra = iam_contract.unneeded(found, GRANTS[key], result["dataset"])
    assert not extra, [f"{g.terraform}: {g.role} on {g.scope} {g.resource}" for g in extra]


def test_a_dataset_level_grant_does_not_reach_project_permissions() -> None:
    grant = iam_contract.Grant("roles/bigquery.dataEditor", "dataset", "warehouse", "t")
    jobs = iam_contract.Need("bigquery.jobs.create", "project", PROJECT, "jobs.insert")
    write = iam_contract.Need("bigquery.tables.updateData", "table", f"{PROJECT}.d.events", "x")
    elsewhere = iam_contract.Need("bigquery.tables.updateData", "table", f"{PROJECT}.o.t", "x")
    assert iam_contract.unmet([jobs, write, elsewhere], [grant], f"{PROJECT}.d") == [
        jobs,
        elsewhere,
    ]


def test_the_tables_cite_their_sources() -> None:
    for name in ("gcp_role_permissions.json", "gcp_api_permissions.json"):
        data = json.loads((Path(iam_contract.DATA) / name).read_text(encoding="utf-8"))
        assert all(str(url).startswith(("https://", "20")) for url in data["_sources"].values())


def test_the_check_fails_without_a_needed_grant_and_with_an_extra_one(
    recorded: dict[str, dict[str, Any]],
) -> None:
    result = recorded["stream"]
    found, _ = _needs("stream", result)
    without_jobs = [g for g in GRANTS["stream"] if g.role != "roles/bigquery.jobUser"]
    missing = iam_contract.unmet(found, without_jobs, result["dataset"])
    assert {n.permission for n in missing} >= {"bigquery.jobs.create"}
    client = iam_contract.Grant("roles/cloudsql.client", "project", "", "planted")
    extra = iam_contract.unneeded(found, [*GRANTS["stream"], client], result["dataset"])
    assert client in extra


def test_grpc_calls_of_the_real_clients_are_recorded_and_mapped() -> None:
    """The Storage Write API client (what the BigQuery sink rewrite uses) is seen through any
    channel it opens; nothing listens on the port, the call is recorded before it fails."""
    import socket

    import grpc
    from google.api_core import exceptions
    from google.cloud.bigquery_storage_v1 import BigQueryWriteClient
    from google.cloud.bigquery_storage_v1.services.big_query_write.transports import (
        BigQueryWriteGrpcTransport,
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder = iam_contract.Recorder()
    with pytest.MonkeyPatch.context() as patch, recorder.active(patch):
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        client = BigQueryWriteClient(transport=BigQueryWriteGrpcTransport(channel=channel))
        with pytest.raises(exceptions.GoogleAPICallError):
            client.get_write_stream(
                name=f"projects/{PROJECT}/datasets/d/tables/events/streams/_default",
                retry=None,
                timeout=2,
            )
    assert recorder.grpc == ["/google.cloud.bigquery.storage.v1.BigQueryWrite/GetWriteStream"]
    found, unknown = iam_contract.needs(recorder, secrets=[], iam_login=False)
    assert unknown == []
    assert [n.permission for n in found] == ["bigquery.tables.updateData"]
