"""sinks/bigquery/protocol.py: the exactly-once stream protocol's decisions, chunking and the
streaming window, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from platform_events.sinks.bigquery import protocol

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _state(
    phase: protocol.Phase, digest: str = "d1", *, maybe: bool = False
) -> protocol.StreamState:
    return protocol.StreamState("projects/p/streams/s", digest, 3, (3,), phase, maybe)


def test_a_fresh_batch_opens_a_new_stream() -> None:
    assert protocol.plan(None, "d1") == protocol.Plan(protocol.Step.NEW_STREAM)


def test_the_same_batch_resumes_its_saved_stream() -> None:
    assert protocol.plan(_state(protocol.Phase.APPENDING), "d1").step is protocol.Step.RESUME


def test_a_stream_that_may_be_committed_is_committed_again_whatever_the_batch() -> None:
    for digest in ("d1", "other"):
        plan = protocol.plan(_state(protocol.Phase.COMMITTING), digest)
        assert plan.step is protocol.Step.COMMIT_AGAIN


def test_other_rows_abandon_an_uncommitted_stream_and_ask_the_table_only_when_needed() -> None:
    assert protocol.plan(_state(protocol.Phase.APPENDING), "d2") == protocol.Plan(
        protocol.Step.NEW_STREAM, ask_table=False
    )
    assert protocol.plan(_state(protocol.Phase.APPENDING, maybe=True), "d2") == protocol.Plan(
        protocol.Step.NEW_STREAM, ask_table=True
    )


def test_the_state_round_trips_through_the_checkpoints_json() -> None:
    state = _state(protocol.Phase.COMMITTING, maybe=True)
    assert protocol.StreamState.from_mapping(state.to_mapping()) == state
    assert protocol.StreamState.from_mapping({}) is None
    assert protocol.StreamState.from_mapping({"other_sink": {}}) is None


def test_the_digest_is_of_the_set_of_events_not_their_order() -> None:
    assert protocol.digest(["b", "a"]) == protocol.digest(["a", "b"])
    assert protocol.digest(["a"]) != protocol.digest(["a", "b"])


def test_a_commit_counts_as_done_when_the_service_confirms_it_now_or_before() -> None:
    assert protocol.commit_outcome(NOW, []) is protocol.CommitOutcome.COMMITTED
    assert (
        protocol.commit_outcome(None, [protocol.STREAM_ALREADY_COMMITTED])
        is protocol.CommitOutcome.COMMITTED
    )
    assert protocol.commit_outcome(None, [5]) is protocol.CommitOutcome.UNKNOWN  # the emulator's
    assert protocol.commit_outcome(None, []) is protocol.CommitOutcome.UNKNOWN


def test_chunks_stay_under_the_request_limit_and_keep_at_least_one_row() -> None:
    ends = protocol.chunk_ends([100] * 10, limit=3 * (100 + protocol.ROW_OVERHEAD_BYTES))
    assert ends == (3, 6, 9, 10)
    assert protocol.chunk_ranges(ends) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert protocol.chunk_ends([10_000], limit=100) == (1,)
    assert protocol.chunk_ends([]) == ()


def test_only_events_outside_the_streaming_window_are_refused_each_with_its_reason() -> None:
    refused = protocol.outside_stream_window(
        {
            "ancient": NOW - timedelta(days=3653),
            "old_but_fine": NOW - timedelta(days=9 * 365),
            "now": NOW,
            "far_future": NOW + timedelta(days=366),
        },
        NOW,
    )
    assert sorted(refused) == ["ancient", "far_future"]
    assert "load job" in refused["ancient"]
