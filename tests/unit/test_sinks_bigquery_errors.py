"""sinks/bigquery/errors.py: BigQuery's answers classified by what the pipeline can do."""

from __future__ import annotations

import grpc
import pytest
from google.api_core import exceptions as gexc

from platform_events.errors import (
    LeaseLost,
    RowsRejected,
    SinkMisconfigured,
    SinkThrottled,
    SinkUnavailable,
)
from platform_events.sinks.bigquery.errors import classify, classify_answer


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (
            gexc.BadRequest(
                "Could not serialize access to table p:d.events due to concurrent update"
            ),
            SinkThrottled,
        ),
        (
            gexc.BadRequest(
                "Resources exceeded: Too many DML statements outstanding against table"
            ),
            SinkThrottled,
        ),
        (
            gexc.Forbidden("Exceeded rate limits", errors=[{"reason": "rateLimitExceeded"}]),
            SinkThrottled,
        ),
        (gexc.Forbidden("Quota exceeded", errors=[{"reason": "quotaExceeded"}]), SinkThrottled),
        (gexc.TooManyRequests("slow down"), SinkThrottled),
        (gexc.ResourceExhausted("append throughput"), SinkThrottled),
        (gexc.Aborted("transaction aborted"), SinkThrottled),
        (gexc.ServiceUnavailable("try again"), SinkUnavailable),
        (gexc.InternalServerError("backend", errors=[{"reason": "backendError"}]), SinkUnavailable),
        (gexc.DeadlineExceeded("deadline"), SinkUnavailable),
        (gexc.BadGateway("gateway"), SinkUnavailable),
        (
            gexc.BadRequest(
                "UPDATE would affect rows in the streaming buffer, which is not supported"
            ),
            SinkUnavailable,
        ),
        (
            gexc.NotFound("Not found: Dataset p:d", errors=[{"reason": "notFound"}]),
            SinkMisconfigured,
        ),
        (gexc.PermissionDenied("bigquery.tables.updateData denied"), SinkMisconfigured),
        (gexc.Forbidden("Access Denied", errors=[{"reason": "accessDenied"}]), SinkMisconfigured),
        (gexc.Unauthenticated("no credentials"), SinkMisconfigured),
        (gexc.BadRequest("Provided Schema does not match Table p:d.events"), SinkMisconfigured),
        (gexc.BadRequest("Invalid JSON payload", errors=[{"reason": "invalid"}]), RowsRejected),
        (ConnectionResetError("peer reset"), SinkUnavailable),
    ],
)
def test_bigquery_answers_are_classified_by_what_the_pipeline_can_do(
    exc: Exception, kind: type[Exception]
) -> None:
    mapped = classify(exc)
    assert type(mapped) is kind
    assert str(exc.args[0] if exc.args else exc)[:20] in str(mapped) or isinstance(
        exc, ConnectionResetError
    )


def test_a_missing_table_says_terraform_creates_it_and_a_denial_names_the_grants() -> None:
    assert "terraform apply" in str(classify(gexc.NotFound("Not found: Table p:d.events")))
    assert "service account" in str(classify(gexc.PermissionDenied("denied")))


def test_our_own_errors_and_bugs_pass_through_unchanged() -> None:
    for exc in (LeaseLost("gone"), RowsRejected("x", rows={"e": "bad"}), KeyError("bug")):
        assert classify(exc) is exc


def test_grpc_statuses_classify_like_their_http_equivalents() -> None:
    assert classify_answer(None, "RESOURCE_EXHAUSTED", (), "") is SinkThrottled
    assert classify_answer(None, "UNAVAILABLE", (), "") is SinkUnavailable
    assert classify_answer(None, "ABORTED", (), "") is SinkThrottled
    assert classify(gexc.from_grpc_status(grpc.StatusCode.UNAVAILABLE, "x")).__class__ is (
        SinkUnavailable
    )
