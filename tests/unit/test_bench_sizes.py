"""bench/sizes.py: size overrides keep their types and refuse unknown names."""

from __future__ import annotations

import pytest

from bench.sizes import QUICK, with_overrides


def test_size_overrides_keep_their_types_and_refuse_unknown_names() -> None:
    sizes = with_overrides(QUICK, {"stream_events": 10.0, "steady_seconds": 3, "batch_size": None})
    assert sizes.stream_events == 10 and isinstance(sizes.stream_events, int)
    assert sizes.steady_seconds == 3.0 and isinstance(sizes.steady_seconds, float)
    assert sizes.batch_size == QUICK.batch_size
    with pytest.raises(ValueError, match="unknown size"):
        with_overrides(QUICK, {"nope": 1})
