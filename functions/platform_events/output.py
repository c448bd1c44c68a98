"""What a command prints for people and scripts (apart from logs, which go to stderr)."""

from __future__ import annotations

import json
from typing import Any


def print_json(value: Any) -> None:
    """The JSON answer of a command on stdout, for scripts: every command's one printer."""
    print(json.dumps(value, indent=2, default=str))
