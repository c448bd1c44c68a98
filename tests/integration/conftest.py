"""Fixtures of the streaming and sink tests: the BigQuery emulator and its Terraform-defined table, a
users table, moto S3.

Shared fixtures (the Postgres server, per-test databases, settings) are in tests/conftest.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bench import bqemulator
from platform_events.config import Settings
from platform_events.sinks.bigquery import BigQuerySink
from tests.integration.bigquery_support import (
    NoCreateClient,
    PartitionFilterEnforcingClient,
    StreamWindowEnforcingWriteClient,
    create_events_table,
)

BIGQUERY_PROJECT = bqemulator.PROJECT


BigQueryEmulator = bqemulator.Endpoints


@pytest.fixture(scope="session")
def bigquery_endpoint(bigquery_emulator: BigQueryEmulator) -> str:
    """The REST endpoint of the session's bqemulator."""
    return bigquery_emulator.rest


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigQueryEmulator]:
    """A bqemulator (PyPI, 1.4.0) started for the test session: REST and gRPC endpoints."""
    if not bqemulator.install_spatial_extension():
        pytest.skip("duckdb-extension-spatial has no extension file for this platform")
    with bqemulator.running(tmp_path_factory.mktemp("bqemulator") / "emulator.log") as endpoints:
        yield endpoints


@pytest.fixture
def bq_settings(settings: Settings, bigquery_emulator: BigQueryEmulator) -> Settings:
    return settings.model_copy(
        update={
            "warehouse": "bigquery",
            "bigquery_project_id": BIGQUERY_PROJECT,
            "bigquery_dataset_id": f"pe_{uuid.uuid4().hex[:10]}",
            "bigquery_api_endpoint": bigquery_emulator.rest,
            "bigquery_storage_endpoint": bigquery_emulator.grpc,
        }
    )


@pytest.fixture
def enforcing(
    bq_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PartitionFilterEnforcingClient]:
    """The dataset and Terraform's events table (made as Terraform would, by the test: the
    functions never create them), and every sink built from settings using a client that refuses
    what the service refuses and may not create anything."""
    plain = BigQuerySink.from_settings(bq_settings)
    wrapper = PartitionFilterEnforcingClient(plain.client)
    create_events_table(wrapper, BIGQUERY_PROJECT, bq_settings.bigquery_dataset_id)
    plain.close()
    original = BigQuerySink.from_settings.__func__  # type: ignore[attr-defined]

    def from_settings(cls: type[BigQuerySink], settings: Settings) -> BigQuerySink:
        sink: BigQuerySink = original(cls, settings)
        deployed = NoCreateClient(sink.client)
        deployed.required = wrapper.required
        deployed.refused = wrapper.refused
        deployed.queries = wrapper.queries
        sink.client = deployed
        sink.write_api.client = StreamWindowEnforcingWriteClient(sink.write_api.client)
        return sink

    monkeypatch.setattr(BigQuerySink, "from_settings", classmethod(from_settings))
    yield wrapper
    assert wrapper.refused == [], "a statement without a partition filter reached BigQuery"
