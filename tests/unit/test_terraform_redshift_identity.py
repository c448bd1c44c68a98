"""The Redshift side's identities, offline: the functions reach AWS by web identity federation
(no IAM user or access key anywhere), the role trusts only the warehouse functions' Google
service accounts, and the database user it maps to is made the owner of its own schema by a
bootstrap that alone uses the admin secret."""

from __future__ import annotations

import re
from pathlib import Path

from tests.terraform.hcl import load_clean
from tests.unit.test_terraform_structure import _blocks, _module, _resource, _resources

ROOT = Path(__file__).resolve().parents[2]
REDSHIFT_TF = (ROOT / "infra" / "redshift" / "main.tf").read_text(encoding="utf-8")


def _role_block(name: str) -> str:
    start = REDSHIFT_TF.index(f'resource "aws_iam_role" "{name}"')
    return REDSHIFT_TF[start : REDSHIFT_TF.index("\n}\n", start)]


def _policy_block(name: str) -> str:
    start = REDSHIFT_TF.index(f'resource "aws_iam_role_policy" "{name}"')
    return REDSHIFT_TF[start : REDSHIFT_TF.index("\n}\n", start)]


def test_no_long_lived_aws_credential_exists() -> None:
    for path in [ROOT / "terraform.tf", *sorted((ROOT / "infra").rglob("*.tf"))]:
        for rtype, name, _ in _resources(load_clean(path)):
            assert rtype not in ("aws_iam_user", "aws_iam_access_key"), f"{path}: {rtype}.{name}"
    types = {rtype for rtype, _, _ in _resources(_module("redshift"))}
    assert not {t for t in types if t.startswith("google_")}  # no AWS key kept in GCP either


def test_the_pipeline_role_trusts_only_the_warehouse_functions_google_identities() -> None:
    trust = _role_block("pipeline")
    assert 'Principal = { Federated = "accounts.google.com" }' in trust
    assert 'Action    = "sts:AssumeRoleWithWebIdentity"' in trust
    assert re.search(r'"accounts\.google\.com:sub"\s*=\s*var\.google_service_account_ids', trust)
    assert re.search(r'"accounts\.google\.com:aud"\s*=\s*var\.google_service_account_ids', trust)
    assert re.search(r'"accounts\.google\.com:oaud"\s*=\s*var\.web_identity_audience', trust)
    root = (ROOT / "terraform.tf").read_text(encoding="utf-8")
    assert re.search(
        r"module\.functions\.service_account_unique_ids\[key\] if try\(fn\.warehouse_access",
        root,
    )
    outputs = _blocks(_module("functions"), "output")
    assert "sa.unique_id" in outputs["service_account_unique_ids"]["value"]


def test_the_pipeline_role_cannot_read_the_admin_secret_and_logs_in_as_itself() -> None:
    policy = _policy_block("pipeline")
    assert "secretsmanager" not in policy
    assert '"redshift-serverless:GetCredentials"' in policy
    assert "Resource = local.workgroup_arn" in policy


def test_the_bootstrap_alone_uses_the_admin_secret_to_give_the_role_its_own_schema() -> None:
    redshift = _module("redshift")
    user = _resource(redshift, "aws_redshiftdata_statement", "database_user")
    schema = _resource(redshift, "aws_redshiftdata_statement", "schema")
    admin = "${aws_redshiftserverless_namespace.this.admin_password_secret_arn}"
    assert user["secret_arn"] == admin and schema["secret_arn"] == admin
    assert user["sql"].startswith("CREATE USER") and "PASSWORD DISABLE" in user["sql"]
    assert "AUTHORIZATION" in schema["sql"] and "${local.database_user}" in schema["sql"]
    assert _locals_value(redshift, "database_user") == "IAMR:${aws_iam_role.pipeline.name}"
    # The functions get the schema only once the bootstrap made it.
    output = _blocks(redshift, "output")["schema_name"]
    assert output["depends_on"] == ["${aws_redshiftdata_statement.schema}"]
    uses = REDSHIFT_TF.count("admin_password_secret_arn")
    assert uses == 2, "the admin secret is for the bootstrap statements only"
    outputs = (ROOT / "infra" / "redshift" / "outputs.tf").read_text(encoding="utf-8")
    assert "admin_password_secret_arn" not in outputs


def test_the_functions_get_the_role_and_schema_not_a_secret() -> None:
    root = (ROOT / "terraform.tf").read_text(encoding="utf-8")
    for name, output in (
        ("REDSHIFT_AWS_ROLE_ARN", "pipeline_role_arn"),
        ("REDSHIFT_AWS_AUDIENCE", "web_identity_audience"),
        ("REDSHIFT_SCHEMA", "schema_name"),
    ):
        assert re.search(rf"{name}\s*=\s*local\.redshift\.{output}", root), name
    assert "REDSHIFT_SECRET_ARN" not in root


def _locals_value(tf: dict[str, object], name: str) -> object:
    for block in tf.get("locals", []):  # type: ignore[attr-defined]
        if name in block:
            return block[name]
    raise AssertionError(f"no local {name}")
