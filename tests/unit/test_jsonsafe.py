"""jsonsafe: what PostgreSQL and the warehouses cannot store is found, named and never missed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_events import errors, jsonsafe

texts = st.lists(
    st.text(max_size=5) | st.sampled_from(["\x00", "\ud800", "\udfff", "\\u0000", "9" * 19]),
    max_size=3,
).map("".join)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
    # What the parser makes of an integer literal over MAX_INT_DIGITS digits.
    | st.integers(min_value=jsonsafe.MAX_INT_DIGITS + 1, max_value=80).map(
        lambda n: jsonsafe.BigNumber("-" + "9" * n)
    )
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_the_fast_pass_never_hides_what_the_exact_walk_finds(value: Any) -> None:
    assert jsonsafe.problem(value) == jsonsafe.exact_problem(value)


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"a": [value]}
    return value


@pytest.mark.parametrize(
    ("value", "path", "code"),
    [
        ({"properties": {"title": "a\x00b"}}, "properties.title", "invalid_string"),
        ({"tags": ["ok", "\ud800"]}, "tags[1]", "invalid_string"),
        ({"p": {"k\x00": 1}}, "p", "invalid_string"),
        ({"n": float("inf")}, "n", "number_out_of_range"),
        ({"n": float("nan")}, "n", "number_out_of_range"),
        ({"n": 2**63}, "n", "number_out_of_range"),
        ({"n": -(2**63) - 1}, "n", "number_out_of_range"),
        (_nested(40), ".".join(["a[0]"] * 32) + ".a", "too_deep"),
    ],
)
def test_each_kind_of_unstorable_value_is_named(value: Any, path: str, code: str) -> None:
    found = jsonsafe.problem(value)
    assert found is not None and (found.path, found.code) == (path, code)


def test_values_every_store_holds_pass() -> None:
    ok = {"n": 2**63 - 1, "m": -(2**63), "f": 1e308, "s": "\\u0000 é \U0001f600", "l": [None]}
    assert jsonsafe.problem(ok) is None
    assert jsonsafe.problem(_nested(32)) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe\x00", "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
    ],
)
def test_loads_raises_only_invalid_json(raw: bytes, code: str) -> None:
    with pytest.raises(errors.InvalidJson) as caught:
        jsonsafe.loads(raw)
    assert caught.value.code == code


def test_loads_keeps_huge_integers_as_text_and_reads_other_encodings() -> None:
    parsed = jsonsafe.loads(b'{"n": ' + b"7" * 5000 + b"}")
    assert isinstance(parsed["n"], jsonsafe.BigNumber) and len(parsed["n"]) == 5000
    assert jsonsafe.loads(json.dumps({"a": "é"}).encode("utf-16")) == {"a": "é"}
    assert jsonsafe.loads(b'{"n": 12}') == {"n": 12}
