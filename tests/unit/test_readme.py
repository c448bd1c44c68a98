"""The README's reference tables follow the code: every setting and every command is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from platform_events.cli import build_parser
from platform_events.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section("Configuration")))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"README Configuration lacks {sorted(missing)}"


def test_every_command_is_in_the_command_table() -> None:
    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    table = section("Command line")
    documented = set(re.findall(r"^\| `([a-z][a-z0-9-]*)", table, re.MULTILINE))
    documented |= set(re.findall(r", `([a-z][a-z0-9-]*) ", table))
    missing = set(subparsers.choices) - documented
    assert not missing, f"README Command line lacks {sorted(missing)}"
