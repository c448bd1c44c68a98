"""The Terraform, checked offline: every .tf parsed with python-hcl2 (providers cannot be downloaded
here, so `terraform validate` cannot run) and its structure asserted against the contracts of
DESIGN.md and the Python side (entry points of functions/main.py, schedules, settings, log lines).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from functions_framework import _function_registry

from platform_events import scheduler
from platform_events.config import Settings
from tests.terraform import jobs as terraform_jobs
from tests.terraform.hcl import load_clean

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN_PY = ROOT / "functions" / "main.py"
INFRA_README = INFRA / "README.md"
MODULES = (
    "network",
    "database",
    "warehouse",
    "functions",
    "migrations",
    "scheduler",
    "monitoring",
    "redshift",
    "models",
)
SEED_CRONS = {"* * * * *", "0 * * * *", "*/15 * * * *", "0 2 * * *"}
PUBLIC_PRINCIPALS = ("allUsers", "allAuthenticatedUsers")
# Environment variables the functions get that are not Settings fields (read by boto3 itself).
NON_SETTINGS_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
# Set by Terraform for Settings fields that parallel branches of #18 (database_pool_size) and #13
# (stream fan-out) add; once merged they are Settings fields and this set can go.
SETTINGS_ADDED_ELSEWHERE = {"DATABASE_POOL_SIZE", "STREAM_FANOUT_URL", "STREAM_MAX_PARALLEL"}

Tf = dict[str, Any]


def _tf_files() -> list[Path]:
    return [ROOT / "terraform.tf", *sorted(INFRA.rglob("*.tf"))]


@pytest.fixture(scope="module")
def parsed() -> dict[Path, Tf]:
    return {path: load_clean(path) for path in _tf_files()}


@pytest.fixture(scope="module")
def root() -> Tf:
    return load_clean(ROOT / "terraform.tf")


def _module(name: str) -> Tf:
    """Every block of one module's files, merged by block kind."""
    merged: Tf = {}
    for path in sorted((INFRA / name).glob("*.tf")):
        for kind, blocks in load_clean(path).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def _resources(tf: Tf, kind: str = "resource") -> Iterator[tuple[str, str, Tf]]:
    for block in tf.get(kind, []):
        for rtype, named in block.items():
            for name, body in named.items():
                yield rtype, name, body


def _resource(tf: Tf, rtype: str, name: str) -> Tf:
    for found_type, found_name, body in _resources(tf):
        if (found_type, found_name) == (rtype, name):
            return body
    raise AssertionError(f"no resource {rtype}.{name}")


def _blocks(tf: Tf, kind: str) -> dict[str, Tf]:
    return {name: body for block in tf.get(kind, []) for name, body in block.items()}


def _locals(tf: Tf) -> Tf:
    merged: Tf = {}
    for block in tf.get("locals", []):
        merged.update(block)
    return merged


def _value(tf: Tf, value: Any) -> Any:
    """A literal, or the default of the variable a value names ("${var.x}")."""
    if isinstance(value, str) and (match := re.fullmatch(r"\$\{var\.(\w+)\}", value)):
        return _blocks(tf, "variable")[match.group(1)]["default"]
    return value


def _module_references(text: str) -> set[tuple[str, str]]:
    """(module call, output) pairs the root reads, directly or through `x = one(module.m[*])`."""
    found = set(re.findall(r"module\.(\w+)(?:\[\*\])?\.(\w+)", text))
    for alias, call in re.findall(r"(\w+)\s*=\s*one\(module\.(\w+)\[\*\]\)", text):
        found |= {(call, output) for output in re.findall(rf"local\.{alias}\.(\w+)", text)}
    return found


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (attribute name, value) pair anywhere in a parsed file."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _entry_points() -> set[str]:
    """Names functions/main.py exposes as HTTP functions, loaded as functions-framework loads it
    (its entry points are generated from the job registry, so parsing the file would find none)."""
    assert MAIN_PY.is_file(), f"{MAIN_PY} is missing: the function map cannot be checked"
    spec = importlib.util.spec_from_file_location("main_entry_points", MAIN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        name
        for name, value in vars(module).items()
        if isinstance(value, types.FunctionType)
        and _function_registry.REGISTRY_MAP.get(value.__name__) == "http"
        and value.__name__ == name
    }


# --- Files ---------------------------------------------------------------------------------------


def test_every_module_has_main_variables_outputs_and_versions() -> None:
    for name in MODULES:
        for file in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (INFRA / name / file).is_file(), f"infra/{name}/{file} is missing"


def test_every_module_directory_is_called_from_the_root(root: Tf) -> None:
    called = {Path(body["source"]).name for body in _blocks(root, "module").values()}
    on_disk = {path.name for path in INFRA.iterdir() if list(path.glob("*.tf"))}
    assert on_disk == called == set(MODULES)


def test_every_tf_file_parses(parsed: dict[Path, Tf]) -> None:
    assert len(parsed) >= 1 + 4 * len(MODULES)


def test_terraform_fmt_is_clean() -> None:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform binary not found: `terraform fmt -check -recursive` not run")
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-list=true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"files need `terraform fmt`: {result.stdout}{result.stderr}"


# --- Variables and outputs -----------------------------------------------------------------------


def test_every_variable_is_typed_and_described(parsed: dict[Path, Tf]) -> None:
    for path, tf in parsed.items():
        for name, body in _blocks(tf, "variable").items():
            where = f"{path.relative_to(ROOT)}: variable {name}"
            assert "type" in body, f"{where} has no type"
            assert str(body.get("description", "")).strip(), f"{where} has no description"


def test_constrained_variables_are_validated(parsed: dict[Path, Tf]) -> None:
    # Names, versions, warehouse kind, invoker lists: values with a fixed shape are validated.
    must_validate = {
        "name",
        "project_id",
        "warehouse",
        "database_version",
        "invoker_members",
        "ingest_invoker_members",
        "operator_members",
        "time_zone",
        "schedules",
        "functions",
        "notification_channels",
    }
    checked = 0
    for path, tf in parsed.items():
        for name, body in _blocks(tf, "variable").items():
            if name in must_validate and not (name == "project_id" and path.parent != ROOT):
                assert body.get("validation"), f"{path.relative_to(ROOT)}: {name} lacks validation"
                checked += 1
    assert checked >= len(must_validate)


def test_module_calls_pass_only_declared_variables_and_every_required_one(root: Tf) -> None:
    meta = {"source", "count", "for_each", "depends_on", "providers", "version"}
    for call, body in _blocks(root, "module").items():
        module = _module(Path(body["source"]).name)
        declared = _blocks(module, "variable")
        passed = set(body) - meta
        assert passed <= set(declared), f"module {call}: unknown inputs {passed - set(declared)}"
        required = {name for name, var in declared.items() if "default" not in var}
        assert required <= passed, f"module {call}: missing inputs {required - passed}"


def test_root_references_only_declared_module_outputs(root: Tf) -> None:
    text = (ROOT / "terraform.tf").read_text(encoding="utf-8")
    calls = {name: Path(body["source"]).name for name, body in _blocks(root, "module").items()}
    for call, output in _module_references(text):
        outputs = _blocks(_module(calls[call]), "output")
        assert output in outputs, f"module.{call}.{output} is not an output of infra/{calls[call]}"


def test_every_module_output_is_used_by_the_root_or_documented(root: Tf) -> None:
    text = (ROOT / "terraform.tf").read_text(encoding="utf-8")
    readme = INFRA_README.read_text(encoding="utf-8") if INFRA_README.is_file() else ""
    calls = {Path(body["source"]).name: name for name, body in _blocks(root, "module").items()}
    references = _module_references(text)
    unused = []
    for module_dir, call in calls.items():
        for output in _blocks(_module(module_dir), "output"):
            used = (call, output) in references
            documented = f"`{module_dir}.{output}`" in readme
            if not (used or documented):
                unused.append(f"{module_dir}.{output}")
    assert not unused, (
        f"outputs neither used by terraform.tf nor documented in infra/README.md: {unused}"
    )


def test_no_output_exposes_a_secret(parsed: dict[Path, Tf]) -> None:
    secret_sources = ("random_password.", "secret_data", "aws_iam_access_key.", ".password")
    for path, tf in parsed.items():
        for name, body in _blocks(tf, "output").items():
            value = json.dumps(body.get("value"))
            for source in secret_sources:
                assert source not in value, f"{path.relative_to(ROOT)}: output {name} uses {source}"


# --- Warehouse -----------------------------------------------------------------------------------


def test_events_table_is_partitioned_by_day_on_occurred_at_and_clustered() -> None:
    events = _resource(_module("warehouse"), "google_bigquery_table", "events")
    partitioning = events["time_partitioning"][0]
    assert partitioning["type"] == "DAY"
    assert partitioning["field"] == "occurred_at"
    assert "expiration_ms" in partitioning
    assert events["clustering"] == ["event_type", "user_id"]
    assert events["require_partition_filter"] is True


def test_partition_expiration_covers_the_longest_retention() -> None:
    variables = _blocks(_module("warehouse"), "variable")
    assert variables["longest_retention_days"]["default"] >= 7 * 365
    assert "longest_retention_days" in json.dumps(_locals(_module("warehouse")))


def test_warehouse_schemas_come_from_the_json_files_the_sink_reads(root: Tf) -> None:
    warehouse = _module("warehouse")
    local = _locals(warehouse)
    assert local["events_schema"] == "${jsondecode(file(var.events_schema_path))}"
    assert local["aggregations_schema"] == "${jsondecode(file(var.aggregations_schema_path))}"
    assert _resource(warehouse, "google_bigquery_table", "events")["schema"] == (
        "${jsonencode(local.events_schema)}"
    )
    call = _blocks(root, "module")["warehouse"]
    for key in ("events_schema_path", "aggregations_schema_path"):
        path = ROOT / call[key].replace("${path.root}/", "")
        assert path.is_file(), f"{key} points at a missing file {path}"
        columns = {field["name"] for field in json.loads(path.read_text(encoding="utf-8"))}
        assert columns, f"{path} has no columns"
    events_columns = {
        field["name"]
        for field in json.loads(
            (ROOT / call["events_schema_path"].replace("${path.root}/", "")).read_text("utf-8")
        )
    }
    assert {"event_id", "occurred_at", "event_type", "user_id"} <= events_columns


# --- Functions -----------------------------------------------------------------------------------


def test_one_function_per_entry_point_of_main_py(root: Tf) -> None:
    functions = terraform_jobs.function_defaults()
    mapped = [fn["entry_point"] for fn in functions.values()]
    assert len(mapped) == len(set(mapped)), "an entry point is deployed twice"
    assert set(mapped) == _entry_points()


def test_each_function_sets_memory_timeout_and_max_instances(root: Tf) -> None:
    for key, fn in terraform_jobs.function_defaults().items():
        assert re.fullmatch(r"\d+(Mi|Gi)", fn["memory"]), key
        assert 1 <= fn["timeout_seconds"] <= 3600, key
        assert _value(root, fn["max_instances"]) >= 1, key
        assert fn["database_user"] in ("pipeline", "ingest", "owner"), key
        # The owner's password is for the migration step only.
        assert (fn["database_user"] == "owner") == (fn["entry_point"] == "migrate_database"), key
        assert _value(root, fn["database_pool_size"]) >= 1, key


# Cloud Run's vCPU => (least, most) memory in MiB, https://cloud.google.com/run/docs/configuring/services/cpu
# (values above 1 vCPU are these integers only); 512 MiB is the second generation's least memory.
CLOUD_RUN_MEMORY_MIB = {
    "1": (128, 4096),
    "2": (128, 8192),
    "4": (2048, 16384),
    "6": (4096, 24576),
    "8": (4096, 32768),
}


def _mib(memory: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", memory).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def test_each_function_has_memory_cloud_run_allows_for_its_vcpus(root: Tf) -> None:
    for key, fn in terraform_jobs.function_defaults().items():
        cpu = fn.get("cpu", "1")
        least, most = CLOUD_RUN_MEMORY_MIB[cpu]
        assert max(least, 512) <= _mib(fn["memory"]) <= most, (
            f"{key}: {fn['memory']} with {cpu} vCPU"
        )
    # The module enforces the same table for any caller.
    validations = json.dumps(_blocks(_module("functions"), "variable")["functions"]["validation"])
    assert '\\"2\\" = 8192' in validations and '\\"4\\" = 2048' in validations


def test_the_stream_function_has_a_vcpu_per_busy_stage_and_may_fan_out_to_itself(root: Tf) -> None:
    stream = terraform_jobs.function_defaults()["stream"]
    # Claiming, enriching and delivering overlap in three threads (pipeline/stream.py): one vCPU
    # would serialise the enrichment with the other two stages' Python work.
    assert int(stream["cpu"]) >= 2
    assert stream["fanout"] == "${var.stream_max_parallel}"
    assert _value(root, stream["max_instances"]) >= _value(root, stream["fanout"])
    functions = _module("functions")
    binding = _resource(functions, "google_cloud_run_service_iam_member", "self_invoker")
    assert binding["for_each"] == "${local.fanout_functions}"
    assert binding["service"] == "${google_cloudfunctions2_function.this[each.key].name}"
    assert binding["member"] == "${google_service_account.function[each.key].member}"
    assert binding["role"] == "roles/run.invoker"
    urls = _locals(functions)["urls"]
    assert "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}" in urls
    environment = json.dumps(_locals(functions)["function_environment"])
    for name in ("STREAM_FANOUT_URL", "STREAM_MAX_PARALLEL", "DATABASE_POOL_SIZE"):
        assert name in environment
    validation = json.dumps(_blocks(functions, "variable")["functions"]["validation"])
    assert "fn.max_instances >= fn.fanout" in validation


def test_functions_are_one_resource_for_each_over_the_map(root: Tf) -> None:
    module = _module("functions")
    function = _resource(module, "google_cloudfunctions2_function", "this")
    assert function["for_each"] == "${var.functions}"
    assert function["build_config"][0]["entry_point"] == "${each.value.entry_point}"
    assert _blocks(root, "module")["functions"]["functions"] == "${local.functions}"
    kinds = [rtype for rtype, _, _ in _resources(module)]
    assert kinds.count("google_cloudfunctions2_function") == 1


def test_functions_archive_includes_the_migrations(root: Tf) -> None:
    archive = next(
        body
        for rtype, name, body in _resources(_module("functions"), "data")
        if rtype == "archive_file" and name == "source"
    )
    filenames = [
        dynamic["source"]["content"][0]["filename"]
        for dynamic in archive["dynamic"]
        if "source" in dynamic
    ]
    assert "migrations/${source.value}" in filenames
    call = _blocks(root, "module")["functions"]
    assert call["migrations_dir"] == "${path.root}/migrations"
    assert call["source_dir"] == "${path.root}/functions"


def test_function_environment_names_are_settings_fields(root: Tf) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    text = json.dumps(_locals(root)["environment"]) + json.dumps(_locals(_module("functions")))
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]{2,})\b", text))
    env_like = {n for n in names if n not in {"DAY", "JSON"}}
    unknown = env_like - fields - NON_SETTINGS_ENV - SETTINGS_ADDED_ELSEWHERE
    assert not unknown, f"environment variables the Settings class does not read: {unknown}"
    for required in ("WAREHOUSE", "BIGQUERY_PROJECT_ID", "BIGQUERY_DATASET_ID", "BIGQUERY_TABLE"):
        assert required in names
    for secret in ("DATABASE_URL", "INGEST_WRITE_KEYS", "ERASURE_AUDIT_KEY", "LOGIN_PASSWORDS"):
        assert secret in names, f"{secret} is not mounted from Secret Manager"


def test_secrets_are_mounted_from_secret_manager_not_plain_environment(root: Tf) -> None:
    function = _resource(_module("functions"), "google_cloudfunctions2_function", "this")
    service = function["service_config"][0]
    assert any("secret_environment_variables" in block for block in service["dynamic"])
    plain = json.dumps(_locals(root)["environment"])
    for secret in ("DATABASE_URL", "INGEST_WRITE_KEYS", "ERASURE_AUDIT_KEY", "PASSWORD"):
        assert secret not in plain, f"{secret} is a plain environment variable"


def test_each_function_has_its_own_service_account() -> None:
    module = _module("functions")
    account = _resource(module, "google_service_account", "function")
    assert account["for_each"] == "${var.functions}"
    function = _resource(module, "google_cloudfunctions2_function", "this")
    assert function["service_config"][0]["service_account_email"] == (
        "${google_service_account.function[each.key].email}"
    )


def test_bigquery_data_editor_is_granted_on_the_dataset_only(parsed: dict[Path, Tf]) -> None:
    for path, tf in parsed.items():
        for rtype, name, body in _resources(tf):
            if body.get("role") == "roles/bigquery.dataEditor":
                assert rtype == "google_bigquery_dataset_iam_member", f"{path}: {rtype}.{name}"
            if body.get("role") == "roles/secretmanager.secretAccessor":
                assert rtype == "google_secret_manager_secret_iam_member", f"{path}: {name}"


# --- IAM: nobody public --------------------------------------------------------------------------


def test_no_public_principal_anywhere(parsed: dict[Path, Tf]) -> None:
    for path, tf in parsed.items():
        for key, value in _walk(tf):
            if key in ("member", "members", "principal"):
                text = json.dumps(value)
                for public in PUBLIC_PRINCIPALS:
                    assert public not in text, f"{path.relative_to(ROOT)}: {key} = {text}"
    literal = re.compile(r'"(allUsers|allAuthenticatedUsers)"')
    for path in [*_tf_files(), ROOT / "terraform.tfvars.example"]:
        found = literal.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(ROOT)} names {found}"


def test_invoker_member_variables_refuse_public_principals(parsed: dict[Path, Tf]) -> None:
    names = {"invoker_members", "ingest_invoker_members", "operator_members"}
    seen = set()
    for tf in parsed.values():
        for name, body in _blocks(tf, "variable").items():
            if name in names:
                seen.add(name)
                condition = json.dumps(body["validation"])
                assert "user|group|serviceAccount" in condition, name
    assert seen == names


# --- Scheduler -----------------------------------------------------------------------------------


def test_the_four_seed_schedules_are_deployed(root: Tf) -> None:
    schedules = terraform_jobs.schedules()
    crons = {key: schedule["cron"] for key, schedule in schedules.items()}
    assert set(crons.values()) >= SEED_CRONS
    assert crons["stream"] == "* * * * *"
    assert crons["aggregate"] == "0 * * * *"
    assert crons["cleanup"] == "*/15 * * * *"
    assert crons["retention"] == "0 2 * * *"


def test_schedules_match_the_python_scheduler_and_target_deployed_functions(root: Tf) -> None:
    schedules = terraform_jobs.schedules()
    functions = terraform_jobs.function_defaults()
    assert set(schedules) == {s.job for s in scheduler.SCHEDULES}
    for schedule in scheduler.SCHEDULES:
        deployed = schedules[schedule.job]
        assert deployed["cron"] == schedule.cron, schedule.job
        assert functions[deployed["function"]]["entry_point"] == schedule.function
        # The module's default body is "{}": both sides send the same JSON.
        assert json.loads(deployed.get("body", "{}")) == schedule.body, schedule.job
    for key, deployed in schedules.items():
        assert deployed["function"] in functions, f"schedule {key} calls an unknown function"
    environment = json.dumps(_locals(root)["environment"])
    assert "SCHEDULER_JOB_PREFIX" in environment
    assert _blocks(root, "module")["scheduler"]["job_prefix"] == "${local.scheduler_job_prefix}"


def test_every_job_calls_with_an_oidc_token_and_retries() -> None:
    module = _module("scheduler")
    jobs = [body for rtype, _, body in _resources(module) if rtype == "google_cloud_scheduler_job"]
    assert jobs
    for job in jobs:
        target = job["http_target"][0]
        oidc = target["oidc_token"][0]
        assert oidc["service_account_email"] == "${google_service_account.invoker.email}"
        assert oidc["audience"]
        assert target["http_method"] == "POST"
        assert target["headers"]["Content-Type"] == "application/json"
        assert job["retry_config"], "every job has a retry config"
        assert job["time_zone"] == "${var.time_zone}"


def test_jobs_are_created_once_the_invoker_grants_have_propagated() -> None:
    module = _module("scheduler")
    sleep = _resource(module, "time_sleep", "invoker_grants")
    assert "google_cloud_run_service_iam_member.invoker" in json.dumps(sleep["triggers"])
    assert _blocks(module, "variable")["iam_propagation_seconds"]["default"] >= 120
    job = _resource(module, "google_cloud_scheduler_job", "this")
    assert job["depends_on"] == ["${time_sleep.invoker_grants}"]


def test_invoker_may_invoke_the_scheduled_functions_only() -> None:
    module = _module("scheduler")
    binding = _resource(module, "google_cloud_run_service_iam_member", "invoker")
    assert binding["role"] == "roles/run.invoker"
    assert binding["member"] == "${google_service_account.invoker.member}"
    assert binding["for_each"] == "${local.targets}"


# --- Database ------------------------------------------------------------------------------------


def test_cloud_sql_is_private_backed_up_and_protected() -> None:
    database = _module("database")
    instance = _resource(database, "google_sql_database_instance", "this")
    settings = instance["settings"][0]
    assert settings["ip_configuration"][0]["ipv4_enabled"] is False
    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    assert instance["deletion_protection"] == "${var.deletion_protection}"
    variables = _blocks(database, "variable")
    assert variables["deletion_protection"]["default"] is True
    assert variables["database_version"]["default"] in ("POSTGRES_15", "POSTGRES_16")


def test_database_passwords_live_in_secret_manager_only() -> None:
    database = _module("database")
    types = {rtype for rtype, _, _ in _resources(database)}
    assert {"random_password", "google_secret_manager_secret_version"} <= types
    users = _locals(database)["users"]
    # The functions log in with IAM: only the owner, the application and the analysts have one.
    assert set(users) == {"owner", "app", "analyst"}


def test_functions_log_in_with_iam_and_only_the_migration_step_mounts_a_password() -> None:
    functions = _module("functions")
    fn_locals = _locals(functions)
    assert "DATABASE_IAM_USER" in json.dumps(fn_locals["database_environment"])
    assert 'fn.database_user != "owner"' in fn_locals["iam_functions"]
    instance = _resource(_module("database"), "google_sql_database_instance", "this")
    flags = {f["name"]: f["value"] for f in instance["settings"][0]["database_flags"]}
    assert flags["cloudsql.iam_authentication"] == "on"
    users = _resource(_module("migrations"), "google_sql_user", "iam")
    assert users["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"


def test_migrations_run_during_apply_and_a_failure_fails_it() -> None:
    migrations = _module("migrations")
    job = _resource(migrations, "google_cloud_run_v2_job", "migrate")
    # run_execution_token: the update completes only when the execution succeeded.
    assert job["provider"] in ("google-beta", "${google-beta}")
    assert job["run_execution_token"] == "${local.token}"
    command = job["template"][0]["template"][0]["containers"][0]["command"]
    assert "trigger.sh" in json.dumps(command)
    assert not any(
        rtype in ("terraform_data", "null_resource") for rtype, _, _ in _resources(migrations)
    ), "the migration step needs nothing but Terraform where it runs"


# --- APIs, labels, Redshift ----------------------------------------------------------------------


def test_required_apis_are_enabled(root: Tf) -> None:
    services = _locals(root)["services"]
    for api in (
        "cloudfunctions",
        "run",
        "cloudbuild",
        "artifactregistry",
        "cloudscheduler",
        "sqladmin",
        "secretmanager",
        "servicenetworking",
        "vpcaccess",
        "bigquery",
        "monitoring",
        "logging",
        "cloudresourcemanager",  # project IAM policies are read and set through it
    ):
        assert f'"{api}.googleapis.com"' in services, api
    assert _resource(root, "google_project_service", "this")["for_each"] == "${local.services}"


def test_labelled_resources_carry_labels(parsed: dict[Path, Tf]) -> None:
    labelled = {
        "google_bigquery_dataset",
        "google_bigquery_table",
        "google_storage_bucket",
        "google_cloudfunctions2_function",
        "google_secret_manager_secret",
        "google_artifact_registry_repository",
        "google_compute_global_address",
    }
    for path, tf in parsed.items():
        for rtype, name, body in _resources(tf):
            if rtype in labelled:
                assert "labels" in body, f"{path.relative_to(ROOT)}: {rtype}.{name} has no labels"
    assert "default_labels" in _blocks(load_clean(ROOT / "terraform.tf"), "provider")["google"]


def test_redshift_is_created_only_when_chosen(root: Tf) -> None:
    call = _blocks(root, "module")["redshift"]
    assert call["count"] == '${var.warehouse == "redshift" ? 1 : 0}'
    redshift = _module("redshift")
    types = {rtype for rtype, _, _ in _resources(redshift)}
    assert {
        "aws_redshiftserverless_namespace",
        "aws_redshiftserverless_workgroup",
        "aws_s3_bucket",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_iam_role",
    } <= types


# --- Monitoring ----------------------------------------------------------------------------------


def _python_sources() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "functions" / "platform_events").rglob("*.py")
    )


def _log_filter_terms(text: str) -> tuple[set[str], set[str], set[str]]:
    """Messages, jobs and jsonPayload fields the monitoring filters and extractors rely on."""
    quoted = r'\\"([^"\\]+)\\"'
    messages: set[str] = set()
    for clause in re.findall(r"jsonPayload\.message=(\([^)]*\)|\\\"[^\\]*\\\")", text):
        messages |= set(re.findall(quoted, clause))
    jobs = set(re.findall(r"jsonPayload\.job=" + quoted, text))
    fields = set(re.findall(r"jsonPayload\.(\w+)", text)) - {"message", "job"}
    return messages, jobs, fields


def test_log_metrics_match_lines_the_python_side_logs() -> None:
    text = (INFRA / "monitoring" / "main.tf").read_text(encoding="utf-8")
    messages, jobs, fields = _log_filter_terms(text)
    assert {"status finished", "stream finished"} <= messages
    assert {"status", "stream"} <= jobs
    assert {"oldest_pending_age_s", "failed"} <= fields
    sources = _python_sources()
    for message in messages:
        assert f'"{message}"' in sources, f"no Python log line says {message!r}"
    for job in jobs:
        assert f'job="{job}"' in sources, f"no summary line with job={job}"
    for field in fields:
        assert re.search(rf"\b{field}=", sources), f"no Python log field {field}"


def test_alerts_cover_backlog_age_failed_events_and_sync_errors() -> None:
    monitoring = _module("monitoring")
    alerts = {name for rtype, name, _ in _resources(monitoring) if rtype.endswith("alert_policy")}
    assert {"backlog_age", "failed_events", "sync_errors"} <= alerts
    for rtype, name, body in _resources(monitoring):
        if rtype == "google_monitoring_alert_policy":
            assert body["notification_channels"] == "${var.notification_channels}", name


def test_tfvars_example_sets_only_declared_variables(root: Tf) -> None:
    example = load_clean(ROOT / "terraform.tfvars.example")
    declared = _blocks(root, "variable")
    assert set(example) <= set(declared), f"undeclared: {set(example) - set(declared)}"
    required = {name for name, var in declared.items() if "default" not in var}
    assert required <= set(example), f"the example lacks {required - set(example)}"


def test_alert_policies_wait_until_their_log_metrics_are_visible() -> None:
    # The Monitoring API can take up to 10 minutes to accept a new log-based metric in a policy
    # (hashicorp/terraform-provider-google#11102): every policy waits on a sleep that follows
    # every metric, so the first apply succeeds.
    monitoring = _module("monitoring")
    sleep = _resource(monitoring, "time_sleep", "metrics_visible")
    assert sleep["create_duration"] == "${var.metric_visibility_wait_seconds}s"
    assert _blocks(monitoring, "variable")["metric_visibility_wait_seconds"]["default"] >= 600
    metrics = {
        name for rtype, name, _ in _resources(monitoring) if rtype == "google_logging_metric"
    }
    waited = set(
        re.findall(r"google_logging_metric\.(\w+)", json.dumps(_locals(monitoring)["metrics"]))
    )
    assert sleep["triggers"] == "${{for key, metric in local.metrics : key => metric.id}}"
    assert waited == metrics, "the sleep must follow every log-based metric"
    for rtype, name, body in _resources(monitoring):
        if rtype == "google_monitoring_alert_policy":
            assert body.get("depends_on") == ["${time_sleep.metrics_visible}"], name


# --- First apply: keys, grants, the source archive -----------------------------------------------


def test_each_kms_key_must_be_in_the_location_of_what_it_encrypts(root: Tf) -> None:
    functions = _module("functions")
    bucket = _resource(functions, "google_storage_bucket", "source")
    condition = bucket["lifecycle"][0]["precondition"][0]["condition"]
    assert 'split("/", var.kms_key_name)[3]' in condition and "var.region" in condition
    dataset = _resource(_module("warehouse"), "google_bigquery_dataset", "this")
    condition = dataset["lifecycle"][0]["precondition"][0]["condition"]
    assert 'split("/", var.kms_key_name)[3]' in condition and "var.location" in condition
    # Two keys: a regional one for the functions' side, one in the dataset's location.
    assert _blocks(root, "module")["functions"]["kms_key_name"] == "${var.kms_key_name}"
    assert _blocks(root, "module")["warehouse"]["kms_key_name"] == "${var.bigquery_kms_key_name}"


def test_the_service_agents_may_use_the_keys_before_anything_is_encrypted() -> None:
    functions = _module("functions")
    agents = _resource(functions, "google_project_service_identity", "agent")
    for service in ("cloudfunctions", "artifactregistry", "run"):
        assert f'"{service}.googleapis.com"' in agents["for_each"], service
    assert "storage.googleapis.com" in json.dumps(_locals(functions)["kms_agents"])
    for module in (functions, _module("warehouse")):
        grants = [b for t, _, b in _resources(module) if t == "google_kms_crypto_key_iam_member"]
        assert grants and all(
            g["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter" for g in grants
        )
    for rtype, name in (
        ("google_storage_bucket", "source"),
        ("google_artifact_registry_repository", "functions"),
    ):
        assert _resource(functions, rtype, name)["depends_on"] == ["${time_sleep.kms_grants}"]
    dataset = _resource(_module("warehouse"), "google_bigquery_dataset", "this")
    assert dataset["depends_on"] == ["${time_sleep.kms_grant}"]


def test_the_functions_wait_for_the_grants_they_use_to_propagate() -> None:
    functions = _module("functions")
    function = _resource(functions, "google_cloudfunctions2_function", "this")
    assert "${time_sleep.grants}" in function["depends_on"]
    sleep = _resource(functions, "time_sleep", "grants")
    assert sleep["create_duration"] == "${var.iam_propagation_seconds}s"
    assert _blocks(functions, "variable")["iam_propagation_seconds"]["default"] >= 120
    triggers = json.dumps(sleep["triggers"])
    # What the build (the builder's logs, image repository and source bucket) and the deploy (each
    # function's secrets, read when its revision starts) use; run-time grants need no wait.
    deploy_time = (
        "google_project_iam_member.builder_logs",
        "google_artifact_registry_repository_iam_member.builder",
        "google_storage_bucket_iam_member.builder_source",
        "google_secret_manager_secret_iam_member.function",
    )
    for grant in deploy_time:
        rtype, name = grant.split(".")
        _resource(functions, rtype, name)  # exists
        assert grant in triggers, f"the functions do not wait for {grant}"


def test_the_live_source_archive_is_never_expired() -> None:
    functions = _module("functions")
    bucket = _resource(functions, "google_storage_bucket", "source")
    assert bucket["versioning"][0]["enabled"] is True
    for rule in bucket["lifecycle_rule"]:
        if rule["action"][0]["type"] == "Delete":
            condition = rule["condition"][0]
            # Only noncurrent generations: an age rule would delete an archive unchanged that long.
            assert condition.get("with_state") == "ARCHIVED", condition
            assert "age" not in condition, condition
    source = _resource(functions, "google_storage_bucket_object", "source")
    assert "${" not in source["name"], "one object name, a new generation per content"
    assert source["source_md5hash"] == "${data.archive_file.source.output_md5}"
    storage = _resource(functions, "google_cloudfunctions2_function", "this")["build_config"][0][
        "source"
    ][0]["storage_source"][0]
    assert storage["generation"] == "${google_storage_bucket_object.source.generation}"


def test_no_attribute_deprecated_in_the_pinned_providers_is_read() -> None:
    # aws 6: aws_region's name is deprecated for region (the provider's version 6 upgrade guide).
    deprecated = ("data.aws_region.current.name",)
    for path in _tf_files():
        text = path.read_text(encoding="utf-8")
        for name in deprecated:
            assert name not in text, f"{path.relative_to(ROOT)} reads {name}"


def test_redshift_copy_has_a_route_to_s3_through_a_gateway_endpoint(root: Tf) -> None:
    # Enhanced VPC routing sends COPY's S3 reads through the workgroup's VPC, which needs an S3
    # gateway endpoint (or a NAT) to reach S3 at all.
    workgroup = _resource(_module("redshift"), "aws_redshiftserverless_workgroup", "this")
    assert workgroup["enhanced_vpc_routing"] is True
    endpoint = _resource(_module("network"), "aws_vpc_endpoint", "s3")
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    assert endpoint["service_name"].endswith(".s3")
    assert endpoint["route_table_ids"] == "${data.aws_route_tables.redshift[0].ids}"
    call = _blocks(root, "module")["network"]
    assert call["aws_s3_endpoint"] == '${var.warehouse == "redshift"}'
    assert call["aws_subnet_ids"] == _blocks(root, "module")["redshift"]["subnet_ids"]


# --- The deploy guide ----------------------------------------------------------------------------


def test_the_remote_state_backend_example_is_a_gcs_backend_initialised_with_the_bucket() -> None:
    example = load_clean(ROOT / "backend.tf.example")
    backend = example["terraform"][0]["backend"][0]["gcs"]
    assert backend["prefix"] == "platform-events"
    assert "bucket" not in backend, "the bucket is passed with -backend-config at init"
    guide = INFRA_README.read_text(encoding="utf-8")
    assert "cp backend.tf.example backend.tf" in guide
    assert 'terraform init -backend-config="bucket=$PROJECT-tfstate"' in guide
    assert "--versioning" in guide and "--public-access-prevention" in guide


def test_the_first_deploy_walkthrough_covers_each_step_and_names_the_real_waits() -> None:
    guide = INFRA_README.read_text(encoding="utf-8")
    for heading in (
        "## First deploy, from an empty project",
        "### 1. Prerequisites",
        "### 2. Remote state (bootstrap, once)",
        "### 4. `terraform init`",
        "### 5. `terraform apply`",
        "### 6. Migrations",
        "### 7. Verify that events flow",
        "## Calling the functions on demand",
        "## Teardown",
        "## Connections",
    ):
        assert heading in guide, heading
    # Every wait the guide names exists, and every time_sleep is explained.
    sleeps = {
        name
        for module in MODULES
        for rtype, name, _ in _resources(_module(module))
        if rtype == "time_sleep"
    }
    named = set(re.findall(r"`time_sleep\.(\w+)`", guide))
    assert named <= sleeps, f"the guide names waits that do not exist: {named - sleeps}"
    assert sleeps <= named, f"waits the guide does not explain: {sleeps - named}"
    assert "hashicorp/terraform-provider-google#11102" in guide
    assert "reprocess" in guide


def test_new_source_and_so_a_new_schema_file_runs_the_migration_step_again(root: Tf) -> None:
    # The archive's object name is fixed (a new generation per content), so the name alone would
    # never change the job's run token: a new event schema file would deploy with the functions
    # but never be applied. The token follows the archive's generation instead.
    token = json.dumps(_locals(_module("migrations"))["token"])
    assert "var.source_generation" in token and "var.source_object" not in token
    assert (
        _blocks(root, "module")["migrations"]["source_generation"]
        == "${module.functions.source_generation}"
    )
    outputs = _blocks(_module("functions"), "output")
    assert (
        outputs["source_generation"]["value"] == "${google_storage_bucket_object.source.generation}"
    )


def test_the_tracking_plan_ships_in_the_archive_without_a_terraform_edit() -> None:
    # The archive is every file under functions/ but caches and hidden ones (its fileset filter,
    # read from main.tf): a new <type>/<version>.json is deployed by the next apply, and the
    # migration step applies it (docs/define-your-events.md).
    text = (ROOT / "infra" / "functions" / "main.tf").read_text(encoding="utf-8")
    match = re.search(r'if !can\(regex\("(.+)", f\)\)', text)
    assert match is not None
    excluded = re.compile(match.group(1).replace("\\\\", "\\"))
    assert excluded.search("platform_events/__pycache__/x.pyc")  # the filter is read right
    functions = ROOT / "functions"
    files = [
        *(functions / "platform_events" / "event_types").rglob("*.json"),
        *(functions / "platform_events" / "demo_catalogue").rglob("*.json"),
    ]
    assert len(files) >= 21
    for path in files:
        assert not excluded.search(str(path.relative_to(functions))), path
