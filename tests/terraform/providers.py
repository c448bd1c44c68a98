"""The pinned providers' schemas, from the prebuilt CDKTF provider packages on PyPI (the I/O side of
tests/terraform/schema.py).

Each package version is generated from one provider release (its jsii assembly names it: the
google package 16.12.1 from hashicorp/google 6.50.0). The wheels are large and their Python code is
not needed: `pip download --no-deps` fetches each wheel once, only its `.jsii` assembly is read, and
a slimmed copy (the types, properties, registry links and list element types the check uses) is
cached under .local/provider-schemas/, so later runs neither download nor parse 100 MB again.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from tests.terraform.schema import ProviderSchema, schema_from_assembly

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".local" / "provider-schemas"
DOWNLOAD_TIMEOUT_S = 600

# Provider local name => (PyPI package, its version, the provider release it was generated from).
# terraform.tf pins each provider to exactly that release (tests/unit/test_terraform_schema.py).
PACKAGES: dict[str, tuple[str, str, str]] = {
    "google": ("cdktf-cdktf-provider-google", "16.12.1", "6.50.0"),
    "google-beta": ("cdktf-cdktf-provider-google-beta", "16.12.1", "6.50.0"),
    "aws": ("cdktf-cdktf-provider-aws", "21.22.1", "6.25.0"),
    "random": ("cdktf-cdktf-provider-random", "12.0.1", "3.7.2"),
    "archive": ("cdktf-cdktf-provider-archive", "11.0.1", "2.7.1"),
    "time": ("cdktf-cdktf-provider-time", "11.0.1", "0.13.1"),
}

_LINK = re.compile(r"\{@link\s+https://registry\.terraform\.io/providers/[^}]*\}")


def _slim_docs(docs: dict[str, Any]) -> dict[str, str]:
    links = _LINK.findall(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
    return {"summary": " ".join(links)} if links else {}


def _slim(assembly: dict[str, Any]) -> dict[str, Any]:
    """The parts of an assembly schema_from_assembly reads."""
    types = {}
    for fqn, kind in assembly["types"].items():
        slim: dict[str, Any] = {"kind": kind["kind"], "docs": _slim_docs(kind.get("docs", {}))}
        if "base" in kind:
            slim["base"] = kind["base"]
        slim["properties"] = [
            {
                "name": p["name"],
                "type": p["type"],
                "optional": p.get("optional", False),
                "static": p.get("static", False),
                "docs": _slim_docs(p.get("docs", {})),
            }
            for p in kind.get("properties", [])
        ]
        if "initializer" in kind:
            slim["initializer"] = {
                "parameters": [
                    p for p in kind["initializer"].get("parameters", []) if p["name"] == "config"
                ]
            }
        slim["methods"] = [
            {"name": "get", "returns": m["returns"]}
            for m in kind.get("methods", [])
            if m["name"] == "get" and "returns" in m
        ]
        types[fqn] = slim
    return {"name": assembly["name"], "version": assembly["version"], "types": types}


def _read_assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        packed = archive.read(name)
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        member = tar.extractfile("package/.jsii")
        if member is None:
            raise FileNotFoundError(f"{wheel.name} has no package/.jsii")
        document: dict[str, Any] = json.load(member)
    return document


def _download(package: str, version: str, into: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--disable-pip-version-check",
        "--dest",
        str(into),
        f"{package}=={version}",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=False
    )
    wheels = sorted(into.glob(f"{package.replace('-', '_')}-{version}-*.whl"))
    if result.returncode != 0 or not wheels:
        raise RuntimeError(
            f"could not download {package}=={version} from the package registry "
            f"(the schema check needs it once, then it is cached in {CACHE}): "
            f"{result.stderr.strip()[-2000:]}"
        )
    return wheels[0]


def load(provider: str, cache: Path = CACHE) -> ProviderSchema:
    """The schema of one pinned provider, from the cache or, the first time, from PyPI."""
    package, version, _ = PACKAGES[provider]
    cached = cache / f"{package}-{version}.json.gz"
    if not cached.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            slim = _slim(_read_assembly(_download(package, version, Path(tmp))))
            partial = Path(tmp) / cached.name
            with gzip.open(partial, "wt", encoding="utf-8") as handle:
                json.dump(slim, handle)
            os.replace(partial, cached)  # atomic: parallel test runs never read half a file
    with gzip.open(cached, "rt", encoding="utf-8") as handle:
        return schema_from_assembly(json.load(handle))
