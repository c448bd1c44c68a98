"""cli.py: every command's --help is plain text, whatever reStructuredText its docstring holds."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from bench import runner
from platform_events import cli

RST_MARKUP = re.compile(r"``|:[a-z]+(?::[a-z]+)?:`")


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def _show_help(path: tuple[str, ...]) -> None:
    if path == ("bench",):  # passes --help on to python -m bench: that parser answers for it
        runner.parse(["--help"])
    else:
        cli.main([*path, "--help"])


def test_rst_markup_is_reduced_to_its_words() -> None:
    text = (
        "The ``platform-events`` CLI; see :func:`platform_events.logs.configure` and :class:`~x.Y`."
    )
    assert cli.plain_text(text) == (
        "The platform-events CLI; see platform_events.logs.configure and x.Y."
    )


def test_every_commands_help_has_no_rst_markup(capsys: pytest.CaptureFixture[str]) -> None:
    seen = []
    for path, _parser in _parsers(cli.build_parser()):
        with pytest.raises(SystemExit):
            _show_help(path)
        text = capsys.readouterr().out
        assert text.startswith("usage: "), path
        assert not RST_MARKUP.search(text), (path, RST_MARKUP.findall(text))
        seen.append(path)
    assert () in seen and ("status",) in seen and len(seen) > 15
