"""The Terraform against the real schemas of the pinned provider releases (tests/terraform/check.py
checks, tests/terraform/providers.py fetches the schemas once from the CDKTF packages on PyPI).

The first test checks the whole configuration; the planted-mistake tests edit a temporary copy of
it and assert the check names each kind of mistake, so a clean result means something.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.terraform import providers as provider_schemas
from tests.terraform.check import Schemas, admits, check_module
from tests.terraform.hcl import Module, traversals
from tests.terraform.schema import schema_from_assembly

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas({name: provider_schemas.load(name) for name in provider_schemas.PACKAGES})


def _module(directory: Path, label: str) -> Module:
    files = sorted(directory.glob("*.tf"))
    parsed = {}
    for path in files:
        with path.open(encoding="utf-8") as handle:
            parsed[path.name] = hcl2.load(handle)
    return Module.of(label, parsed)


def _tree(root: Path) -> tuple[Module, dict[str, Module]]:
    modules = {
        f"./infra/{d.name}": _module(d, f"infra/{d.name}")
        for d in sorted((root / "infra").iterdir())
        if list(d.glob("*.tf"))
    }
    return _module(root, "."), modules


def _problems(root: Path, schemas: Schemas) -> list[str]:
    top, modules = _tree(root)
    problems = check_module(top, schemas, modules)
    for module in modules.values():
        problems += check_module(module, schemas, modules)
    return problems


def test_every_block_argument_and_reference_matches_the_pinned_provider_schemas(
    schemas: Schemas,
) -> None:
    problems = _problems(ROOT, schemas)
    assert not problems, "\n".join(problems)


def test_providers_are_pinned_to_the_releases_the_schemas_come_from(schemas: Schemas) -> None:
    top, modules = _tree(ROOT)
    assert set(top.required_providers) == set(provider_schemas.PACKAGES)
    for name, spec in top.required_providers.items():
        schema = schemas.providers[name]
        _, _, release = provider_schemas.PACKAGES[name]
        assert schema.version == release, f"{name}: the package was generated from {schema.version}"
        assert spec["source"] == schema.source, name
        assert spec["version"] == release, f"terraform.tf must pin {name} to exactly {release}"
    for module in modules.values():
        for name, spec in module.required_providers.items():
            assert admits(spec["version"], provider_schemas.PACKAGES[name][2]), (
                f"{module.path}: {name} {spec['version']} excludes the pinned release"
            )


# --- Planted mistakes: each kind must be caught --------------------------------------------------


def _plant(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "infra", copy / "infra")
    shutil.copy(ROOT / "terraform.tf", copy / "terraform.tf")
    target = copy / relative
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{relative} no longer contains {old!r}: update the planted mistake"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


PLANTED = {
    "unknown argument": (
        "infra/functions/main.tf",
        "uniform_bucket_level_access = true",
        "uniform_bucket_level_access = true\n  bucket_policy_only = true",
        "resource google_storage_bucket.source: unknown argument 'bucket_policy_only'",
    ),
    "unknown block": (
        "infra/functions/main.tf",
        "  versioning {",
        "  versionning {",
        "resource google_storage_bucket.source: unknown block 'versionning'",
    ),
    "block in the wrong parent": (
        "infra/functions/main.tf",
        "    storage_source {",
        "    service_config {",
        "build_config.source: unknown block 'service_config'",
    ),
    "argument written as a block": (
        "infra/monitoring/main.tf",
        '    value_type   = "DISTRIBUTION"',
        '    value_type { }\n    unit_type = "x"',
        "'value_type' is an argument, not a block",
    ),
    "unknown dynamic block": (
        "infra/warehouse/main.tf",
        'dynamic "default_encryption_configuration"',
        'dynamic "encryption_configuration"',
        "dynamic 'encryption_configuration' is not a block of this schema",
    ),
    "missing required argument": (
        "infra/scheduler/main.tf",
        '  role     = "roles/run.invoker"\n  member   = google_service_account.invoker.member',
        '  role     = "roles/run.invoker"',
        "resource google_cloud_run_service_iam_member.invoker: required argument 'member'",
    ),
    "unknown resource type": (
        "infra/network/main.tf",
        'resource "google_compute_network" "this"',
        'resource "google_compute_vpc" "this"',
        "unknown resource type 'google_compute_vpc'",
    ),
    "bad attribute reference": (
        "infra/functions/main.tf",
        "google_service_account.function[each.key].email",
        "google_service_account.function[each.key].email_address",
        "google_service_account.function[each.key].email_address: no attribute 'email_address'",
    ),
    "bad nested attribute reference": (
        "infra/functions/outputs.tf",
        "fn.service_config[0].uri",
        "fn.service_config[0].url",
        "service_config[0].url: no attribute 'url'",
    ),
    "reference to an undeclared resource": (
        "infra/functions/main.tf",
        "bucket = google_storage_bucket.source.name",
        "bucket = google_storage_bucket.sources.name",
        "no resource google_storage_bucket.sources in this module",
    ),
    "reference to a for_each resource without an instance key": (
        "infra/functions/main.tf",
        "google_service_account.function[each.key].email",
        "google_service_account.function.email",
        "google_service_account.function.email: the resource has count/for_each",
    ),
    "undeclared variable": (
        "infra/scheduler/main.tf",
        "time_zone        = var.time_zone",
        "time_zone        = var.timezone",
        "var.timezone: no variable 'timezone'",
    ),
    "unknown module output": (
        "terraform.tf",
        "module.functions.write_keys_secret_id",
        "module.functions.write_key_secret_id",
        "module ./infra/functions has no output 'write_key_secret_id'",
    ),
    "unknown provider argument": (
        "terraform.tf",
        "default_labels = local.labels",
        "default_labels = local.labels\n  zone_default   = var.region",
        "provider google: unknown argument 'zone_default'",
    ),
    "a list where a single value goes": (
        "infra/warehouse/main.tf",
        "  table_id                 = var.events_table_id",
        "  table_id                 = [var.events_table_id]",
        "resource google_bigquery_table.events: 'table_id' takes a single value, not a list",
    ),
    "a single value where a list goes": (
        "infra/warehouse/main.tf",
        '  clustering               = ["event_type", "user_id"]',
        '  clustering               = "event_type"',
        "resource google_bigquery_table.events: 'clustering' takes a list",
    ),
    "misspelt variable argument": (
        "infra/monitoring/variables.tf",
        '  description = "Prefix of the metric names and alert display names."',
        '  descripton = "Prefix of the metric names and alert display names."',
        "variable name: unknown 'descripton'",
    ),
    "data source attribute that does not exist": (
        "infra/functions/main.tf",
        "data.archive_file.source.output_md5",
        "data.archive_file.source.output_md6",
        "data.archive_file.source.output_md6: no attribute 'output_md6'",
    ),
}


@pytest.mark.parametrize("mistake", sorted(PLANTED))
def test_a_planted_mistake_is_caught(mistake: str, schemas: Schemas, tmp_path: Path) -> None:
    relative, old, new, expected = PLANTED[mistake]
    problems = _problems(_plant(tmp_path, relative, old, new), schemas)
    assert any(expected in problem for problem in problems), "\n".join(problems) or "no problem"


def test_a_provider_missing_from_required_providers_is_caught(
    schemas: Schemas, tmp_path: Path
) -> None:
    copy = _plant(
        tmp_path,
        "infra/scheduler/main.tf",
        "locals {",
        'resource "random_id" "x" {\n  byte_length = 4\n}\n\nlocals {',
    )
    assert any(
        "infra/scheduler: uses random but required_providers lacks it" in p
        for p in _problems(copy, schemas)
    )


# --- The pure parts ------------------------------------------------------------------------------


def _names(value: str) -> list[str]:
    rendered = []
    for traversal in traversals(value):
        rendered.append(
            "".join(
                f".{n}" if k == "attr" else "[*]" if k == "splat" else f"[{n}]"
                for k, n in traversal
            )[1:]
        )
    return rendered


def test_traversals_are_found_in_expressions_templates_and_heredocs() -> None:
    assert _names("${var.a}") == ["var.a"]
    assert _names('"${var.a}-${local.b.c[0]}"') == ["var.a", "local.b.c[0]"]
    assert _names('${join(",", [for k, v in var.m : v.x if v.y])}') == ["var.m", "v.x", "v.y"]
    assert _names("${google_x.this[each.key].out[0].uri}") == [
        "each.key",
        "google_x.this[each.key].out[0].uri",
    ]
    assert _names("${module.m[*].out}") == ["module.m[*].out"]
    assert _names('"<<-EOT\n  {"a": "${var.q}"}\nEOT"') == ["var.q"]


def test_literal_text_is_not_read_as_references() -> None:
    assert _names('"resource.type=\\"cloud_run_revision\\""') == []
    assert _names('"$${aws:userid} google_x.y"') == []
    assert _names('${format("google_x.y %s", var.a)}') == ["var.a"]


def test_version_constraints_admit_as_terraform_reads_them() -> None:
    assert admits(">= 6.0, < 7.0", "6.50.0")
    assert not admits(">= 5.40, < 6.0", "6.25.0")
    assert admits("6.50.0", "6.50.0") and not admits("6.50.0", "6.50.1")
    assert admits("~> 3.5", "3.7.2") and not admits("~> 3.5", "4.0.0")
    assert admits("~> 0.13.0", "0.13.1") and not admits("~> 0.13.0", "0.14.0")
    assert not admits("!= 2.7.1", "2.7.1")


# A tiny assembly in the CDKTF packages' shape: a provider, one resource with a nested list block.
def _prop(
    name: str, type_: dict[str, Any], *, optional: bool = True, anchor: str | None = None
) -> dict[str, Any]:
    link = "https://registry.terraform.io/providers/acme/demo/1.2.3/docs/resources/thing"
    docs = {"summary": f"{{@link {link}#{anchor} Thing#{anchor}}}"} if anchor else {}
    return {"name": name, "type": type_, "optional": optional, "docs": docs}


def _class(
    summary: str, config: str | None, props: list[dict[str, Any]], base: str
) -> dict[str, Any]:
    params = [{"name": "config", "type": {"fqn": config}}] if config else []
    return {
        "kind": "class",
        "base": base,
        "docs": {"summary": summary},
        "initializer": {"parameters": params},
        "properties": props,
    }


def _demo_assembly() -> dict[str, Any]:
    url = "https://registry.terraform.io/providers/acme/demo/1.2.3/docs"
    string = {"primitive": "string"}
    rules = {
        "union": {
            "types": [
                {"fqn": "cdktf.IResolvable"},
                {"collection": {"kind": "array", "elementtype": {"fqn": "d.Rule"}}},
            ]
        }
    }
    return {
        "types": {
            "d.DemoProvider": _class(
                f"Represents a {{@link {url} demo}}.",
                "d.DemoProviderConfig",
                [],
                "cdktf.TerraformProvider",
            ),
            "d.DemoProviderConfig": {
                "kind": "interface",
                "properties": [_prop("region", string, anchor="region")],
            },
            "d.Thing": _class(
                f"Represents a {{@link {url}/resources/thing demo_thing}}.",
                "d.ThingConfig",
                [
                    _prop("selfLink", string),
                    _prop("nameInput", string),
                    _prop("name", string),
                    _prop("rule", {"fqn": "d.RuleList"}),
                    _prop("outputBase64Sha256", string),
                ],
                "cdktf.TerraformResource",
            ),
            "d.ThingConfig": {
                "kind": "interface",
                "properties": [
                    _prop("name", string, optional=False, anchor="name"),
                    _prop("rule", rules, anchor="rule"),
                ],
            },
            "d.Rule": {
                "kind": "interface",
                "properties": [_prop("cidrBlock", string, optional=False, anchor="cidr_block")],
            },
            "d.RuleList": {
                "kind": "class",
                "base": "cdktf.ComplexList",
                "methods": [{"name": "get", "returns": {"type": {"fqn": "d.RuleOutputReference"}}}],
            },
            "d.RuleOutputReference": {
                "kind": "class",
                "base": "cdktf.ComplexObject",
                "properties": [
                    _prop("cidrBlock", string),
                    _prop("internalValue", {"fqn": "d.Rule"}),
                ],
            },
        }
    }


def test_an_assembly_becomes_arguments_blocks_and_readable_attributes() -> None:
    schema = schema_from_assembly(_demo_assembly())
    assert (schema.name, schema.source, schema.version) == ("demo", "acme/demo", "1.2.3")
    assert schema.config.arguments == {"region": False}
    thing = schema.resources["demo_thing"]
    assert thing.block.arguments == {"name": True}
    assert thing.block.shapes == {"name": "value"}
    required, rule = thing.block.blocks["rule"]
    assert not required and rule.arguments == {"cidr_block": True}
    assert set(thing.attrs) == {"selflink", "name", "rule", "outputbase64sha256"}
    assert thing.attrs["rule"].kind == "list"
    assert set(thing.attrs["rule"].attrs or {}) == {"cidrblock"}


def _demo_module(body: str) -> list[str]:
    schemas = Schemas({"demo": schema_from_assembly(_demo_assembly())})
    text = (
        'terraform {\n  required_providers {\n    demo = { source = "acme/demo" }\n  }\n}\n' + body
    )
    module = Module.of("m", {"main.tf": hcl2.load(io.StringIO(text))})
    return check_module(module, schemas)


def test_the_check_reads_list_blocks_by_index_and_refuses_what_the_schema_lacks() -> None:
    good = _demo_module(
        'resource "demo_thing" "a" {\n  name = "x"\n  rule {\n    cidr_block = "10.0.0.0/8"\n  }\n}\n'
        'output "o" {\n  value = [demo_thing.a.rule[0].cidr_block, demo_thing.a.output_base64sha256]\n}\n'
    )
    assert good == []
    bad = _demo_module(
        'resource "demo_thing" "a" {\n  rule {\n    cidr = "10.0.0.0/8"\n  }\n}\n'
        'output "o" {\n  value = [demo_thing.a.rule.cidr_block, demo_thing.a.name.first]\n}\n'
    )
    assert "m: resource demo_thing.a: required argument 'name' is missing" in bad
    assert "m: resource demo_thing.a.rule: unknown argument 'cidr'" in bad
    assert "m: resource demo_thing.a.rule: required argument 'cidr_block' is missing" in bad
    assert any(
        "demo_thing.a.rule.cidr_block: index the list/map before .cidr_block" in p for p in bad
    )
    assert any("demo_thing.a.name.first: .first reads into a value" in p for p in bad)
