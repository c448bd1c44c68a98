"""The docs follow the code and each other: every setting and every command is in the reference
tables of docs/configuration.md, README stays a front page, and every intra-repo link (file and
anchor) in README.md, docs/*.md and infra/README.md resolves."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from platform_events.cli import build_parser
from platform_events.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "infra" / "README.md"]

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_every_setting_is_in_the_configuration_table() -> None:
    table = section(CONFIGURATION.read_text(encoding="utf-8"), "Configuration")
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"docs/configuration.md Configuration lacks {sorted(missing)}"


def test_every_command_is_in_the_command_table() -> None:
    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    table = section(CONFIGURATION.read_text(encoding="utf-8"), "Command line")
    documented = set(re.findall(r"^\| `([a-z][a-z0-9-]*)", table, re.MULTILINE))
    documented |= set(re.findall(r", `([a-z][a-z0-9-]*) ", table))
    missing = set(subparsers.choices) - documented
    assert not missing, f"docs/configuration.md Command line lacks {sorted(missing)}"


def test_readme_stays_a_front_page_under_200_lines() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) < 200


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where a link or a heading is not one."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but '-' and '_' dropped, spaces
    to '-'; inline code keeps its text and loses its backticks."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def test_github_anchor_follows_githubs_rule() -> None:
    assert github_anchor("Analytics: dbt models") == "analytics-dbt-models"
    assert github_anchor("From Python: `platform_events.client`") == (
        "from-python-platform_eventsclient"
    )
    assert github_anchor("1. Prerequisites") == "1-prerequisites"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_intra_repo_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not this repository's
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (
            anchor and (linked.suffix != ".md" or anchor not in anchors(linked))
        ):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links that resolve to nothing: {broken}"
