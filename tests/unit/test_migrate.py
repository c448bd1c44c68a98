"""migrate.py: which files are migrations, without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_events import migrate
from platform_events.errors import MigrationError


def test_migration_files_must_be_numbered(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("-- ok\n")
    (tmp_path / "second.sql").write_text("-- bad\n")
    with pytest.raises(MigrationError, match=r"second\.sql"):
        migrate.discover(tmp_path)
