"""The Redshift sink's AWS credentials by web identity federation, against moto's STS (which
implements AssumeRoleWithWebIdentity but checks no token): a fake Google ID token provider, a
controlled clock for the refresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import boto3
import pytest
from dateutil.tz import tzlocal
from moto import mock_aws

from platform_events.config import load_settings
from platform_events.sinks import aws_identity
from platform_events.sinks.redshift import RedshiftSink

AUDIENCE = "sts.amazonaws.com"


class FakeGoogleIdTokens:
    """Stands in for Google's metadata server: a distinct fake token per request."""

    def __init__(self) -> None:
        self.audiences: list[str] = []

    def __call__(self, audience: str) -> str:
        self.audiences.append(audience)
        return f"fake-google-id-token-{len(self.audiences)}"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(tzlocal())

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def role_arn() -> Iterator[str]:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "accounts.google.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                }
            ],
        }
        role = iam.create_role(RoleName="pe-pipeline", AssumeRolePolicyDocument=json.dumps(trust))
        yield role["Role"]["Arn"]


def test_credentials_come_from_sts_for_a_google_id_token_on_first_use(role_arn: str) -> None:
    tokens = FakeGoogleIdTokens()
    session = aws_identity.web_identity_session(
        role_arn=role_arn, audience=AUDIENCE, region="us-east-1", token_provider=tokens
    )
    assert tokens.audiences == []  # nothing fetched before a call needs it
    s3 = session.client("s3")
    s3.create_bucket(Bucket="pe-staging")
    assert s3.list_buckets()["Buckets"][0]["Name"] == "pe-staging"
    credentials = session.get_credentials()
    assert credentials is not None and credentials.method == "assume-role-with-web-identity"
    assert credentials.get_frozen_credentials().access_key.startswith("ASIA")  # temporary
    assert tokens.audiences == [AUDIENCE]  # one token for both calls


def test_credentials_are_refreshed_with_a_new_token_before_they_expire(role_arn: str) -> None:
    tokens, clock = FakeGoogleIdTokens(), Clock()
    session = aws_identity.web_identity_session(
        role_arn=role_arn,
        audience=AUDIENCE,
        region="us-east-1",
        token_provider=tokens,
        time_fetcher=clock,
    )
    credentials = session.get_credentials()
    assert credentials is not None
    first = credentials.get_frozen_credentials().access_key
    clock.now += timedelta(minutes=30)  # moto's credentials last an hour: still fresh
    assert credentials.get_frozen_credentials().access_key == first
    clock.now += timedelta(minutes=25)  # within the 10 minutes before expiry
    assert credentials.get_frozen_credentials().access_key != first
    assert tokens.audiences == [AUDIENCE, AUDIENCE]


def test_the_sink_uses_web_identity_when_a_role_is_configured(
    role_arn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    tokens = FakeGoogleIdTokens()
    monkeypatch.setattr(aws_identity, "google_id_token", tokens)
    settings = load_settings(
        warehouse="redshift",
        redshift_workgroup="events",
        redshift_s3_bucket="pe-staging",
        redshift_iam_role_arn="arn:aws:iam::123456789012:role/copy",
        redshift_aws_role_arn=role_arn,
        redshift_aws_audience="pe-test-audience",
        database_url=None,
    )
    sink = RedshiftSink.from_settings(settings)
    sink.s3.create_bucket(Bucket="pe-staging")
    assert tokens.audiences == ["pe-test-audience"]
    frozen = sink.s3._request_signer._credentials.get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA")
