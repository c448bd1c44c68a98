"""db resolves an unset DATABASE_URL only through the server its entry point registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_events import db
from platform_events.config import Settings, load_settings
from platform_events.errors import ConfigError


@pytest.fixture
def unregistered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_unset_url", [])
    monkeypatch.setattr(db, "_urls", {})


@pytest.mark.usefixtures("unregistered")
def test_an_unset_url_without_a_registered_server_names_database_url(tmp_path: Path) -> None:
    settings = load_settings(platform_events_home=tmp_path, database_url=None)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        db.database_url(settings)


@pytest.mark.usefixtures("unregistered")
def test_the_registered_server_is_asked_once_per_home_and_never_when_the_url_is_set(
    tmp_path: Path,
) -> None:
    asked: list[Path] = []

    def resolver(settings: Settings) -> str:
        asked.append(settings.home)
        return f"postgresql:///{settings.home.name}"

    db.resolve_unset_url_with(resolver)
    first = load_settings(platform_events_home=tmp_path / "one", database_url=None)
    second = load_settings(platform_events_home=tmp_path / "two", database_url=None)
    configured = load_settings(
        platform_events_home=tmp_path / "one", database_url="postgresql://h/db"
    )
    assert [db.database_url(s) for s in (first, first, second, configured)] == [
        "postgresql:///one",
        "postgresql:///one",
        "postgresql:///two",
        "postgresql://h/db",
    ]
    assert asked == [tmp_path / "one", tmp_path / "two"]
