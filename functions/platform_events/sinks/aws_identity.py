"""AWS credentials for the Redshift sink from the function's own Google identity: no AWS key.

The function fetches a Google-signed ID token for its service account (the metadata server
answers on Cloud Functions) and exchanges it at STS with ``AssumeRoleWithWebIdentity`` for the
pipeline role's temporary credentials. The role trusts ``accounts.google.com`` only for the
warehouse functions' service accounts: its trust policy pins ``accounts.google.com:sub`` and
``:aud`` (for a service account's token, the ``azp`` claim: its unique id) to their unique ids
and ``:oaud`` (the token's ``aud``) to the audience below (IAM's condition keys for web identity
federation: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif;
Google as the provider: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_oidc_user-id.html).

Credentials are fetched on first use and refreshed before they expire (botocore's
``DeferredRefreshableCredentials``: an advisory refresh 15 minutes, a mandatory one 10 minutes
before expiry), each refresh with a fresh ID token (Google's last an hour). Tests pass a named
fake token provider and run STS on moto.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.credentials import (
    AssumeRoleWithWebIdentityCredentialFetcher,
    CredentialProvider,
    DeferredRefreshableCredentials,
)

TokenProvider = Callable[[str], str]
"""audience -> a Google-signed OpenID Connect ID token for that audience."""

SESSION_NAME = "platform-events-redshift"
_METHOD = "assume-role-with-web-identity"


def google_id_token(audience: str) -> str:
    """The ID token of the credentials the function runs with (on GCP: its service account,
    from the metadata server)."""
    import google.auth.transport.requests
    from google.oauth2 import id_token

    request = google.auth.transport.requests.Request()
    token: str = id_token.fetch_id_token(request, audience)  # type: ignore[no-untyped-call]
    return token


class _NoCache(dict[str, Any]):
    """The fetcher's response cache, disabled: the refreshable credentials hold the current
    ones and decide when to refresh (on the clock they are given)."""

    def __setitem__(self, key: str, value: Any) -> None:
        return None


class _GoogleWebIdentity(CredentialProvider):  # type: ignore[misc]
    METHOD = _METHOD
    CANONICAL_NAME = "google-web-identity"

    def __init__(
        self,
        fetcher: AssumeRoleWithWebIdentityCredentialFetcher,
        time_fetcher: Callable[[], datetime] | None,
    ) -> None:
        super().__init__()
        self._fetcher = fetcher
        self._time_fetcher = time_fetcher

    def load(self) -> DeferredRefreshableCredentials:
        extra = {"time_fetcher": self._time_fetcher} if self._time_fetcher else {}
        return DeferredRefreshableCredentials(
            refresh_using=self._fetcher.fetch_credentials, method=_METHOD, **extra
        )


def web_identity_session(
    *,
    role_arn: str,
    audience: str,
    region: str,
    token_provider: TokenProvider | None = None,
    time_fetcher: Callable[[], datetime] | None = None,
) -> boto3.Session:
    """A boto3 session whose credentials come from ``role_arn`` by web identity (and only from
    there: no other source in the chain is consulted)."""
    fetch_token = token_provider or google_id_token
    core = botocore.session.Session()
    core.set_config_variable("region", region)
    fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=core.create_client,
        web_identity_token_loader=lambda: fetch_token(audience),
        role_arn=role_arn,
        extra_args={"RoleSessionName": SESSION_NAME},
        cache=_NoCache(),
    )
    resolver = core.get_component("credential_provider")
    resolver.providers = [_GoogleWebIdentity(fetcher, time_fetcher)]
    return boto3.Session(botocore_session=core, region_name=region)
