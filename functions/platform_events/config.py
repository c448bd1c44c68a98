"""Configuration: every setting the pipeline reads, from the environment, in one typed class.

Read once per process with :func:`get_settings` and passed down; nothing else reads ``os.environ``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_events.errors import ConfigError

WarehouseKind = Literal["duckdb", "bigquery", "redshift"]


def _default_home() -> Path:
    # The repository checkout when running from source, else the current directory.
    return Path.cwd() / ".local"


class Settings(BaseSettings):
    """The pipeline's configuration, one field per environment variable (same name, upper case)."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        extra="ignore",
        frozen=True,
    )

    platform_events_home: Path = Field(
        default_factory=_default_home,
        description="Where the embedded Postgres, the DuckDB warehouse and local state live.",
    )
    platform_events_catalog: Path | None = Field(
        default=None,
        description="The tracking plan: a directory of <event type>/<version>.json schema files "
        "(docs/define-your-events.md); unset means the built-in catalogue, the seed's types.",
    )
    database_url: str | None = Field(
        default=None,
        description="libpq URL of the event store Postgres; unset means the embedded one.",
    )
    database_iam_user: str | None = Field(
        default=None,
        description="Cloud SQL IAM database user to log in as (a service account's email without "
        ".gserviceaccount.com), with a short-lived OAuth token of the runtime's credentials as "
        "password; overrides DATABASE_URL's user and password. Unset: DATABASE_URL's own.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Connections each process keeps in its pool to the event store (ingest).",
    )
    warehouse: WarehouseKind = Field(
        default="duckdb", description="Which sink streaming writes to."
    )
    duckdb_path: Path | None = Field(
        default=None,
        description="DuckDB warehouse file; default $PLATFORM_EVENTS_HOME/warehouse.duckdb.",
    )

    bigquery_project_id: str | None = Field(default=None, description="GCP project of the dataset.")
    bigquery_dataset_id: str = Field(default="platform_events", description="BigQuery dataset.")
    bigquery_table: str = Field(default="events", description="BigQuery events table name.")
    bigquery_location: str = Field(default="US", description="BigQuery dataset location.")
    bigquery_api_endpoint: str | None = Field(
        default=None, description="Override of the BigQuery API endpoint (an emulator in tests)."
    )
    bigquery_storage_endpoint: str | None = Field(
        default=None,
        description="host:port of a plaintext Storage Write API (gRPC) endpoint: an emulator in "
        "tests; unset means Google's, with the functions' credentials.",
    )

    redshift_workgroup: str | None = Field(
        default=None, description="Redshift Serverless workgroup."
    )
    redshift_cluster_id: str | None = Field(default=None, description="Provisioned cluster id.")
    redshift_database: str = Field(default="dev", description="Redshift database name.")
    redshift_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager ARN for the Data API (unset: the caller's IAM identity).",
    )
    redshift_aws_role_arn: str | None = Field(
        default=None,
        description="AWS role the sink assumes with its Google ID token (web identity).",
    )
    redshift_aws_audience: str = Field(
        default="sts.amazonaws.com",
        description="Audience of the Google ID token the AWS role's trust policy requires.",
    )
    redshift_s3_bucket: str | None = Field(default=None, description="S3 bucket for COPY staging.")
    redshift_iam_role_arn: str | None = Field(
        default=None, description="IAM role COPY assumes to read S3."
    )
    redshift_schema: str = Field(
        default="public", description="Redshift schema of the events table."
    )
    aws_region: str = Field(default="us-east-1", description="AWS region of Redshift and S3.")

    stream_batch_size: int = Field(
        default=1000, ge=1, le=50_000, description="Events per claimed batch."
    )
    stream_max_seconds: float = Field(
        default=50.0, gt=0, le=3600, description="Time budget of one stream invocation."
    )
    max_retries: int = Field(
        default=3, ge=1, le=100, description="Attempts before an event is failed."
    )
    visibility_timeout_seconds: int = Field(
        default=300,
        ge=10,
        description="A claim older than this is considered abandoned and reclaimed.",
    )
    stream_retry_attempts: int = Field(
        default=4, ge=1, le=20, description="Sink write attempts per batch within one invocation."
    )
    stream_retry_initial_seconds: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="First in-invocation retry delay (then doubling, jittered).",
    )
    stream_retry_max_seconds: float = Field(
        default=8.0, ge=0, le=300, description="Cap of one in-invocation retry delay."
    )
    stream_release_backoff_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="Base delay before a released batch is claimed again (doubling per attempt).",
    )
    stream_hold_max_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="Cap of the wait before a failing warehouse is tried again (the wait doubles "
        "per failure from STREAM_RELEASE_BACKOFF_SECONDS; held events spend no attempt).",
    )
    stream_max_parallel: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Stream workers at most in parallel: an invocation that cannot drain the "
        "backlog within its budget starts up to this many minus one children (1: never).",
    )
    stream_fanout_url: str | None = Field(
        default=None,
        description="The stream function's own URL, which it POSTs to (Google ID token for that "
        "audience) to start a child invocation; unset: no fan-out.",
    )
    enrich_users_query: str = Field(
        default="SELECT id::text AS user_id, role::text AS role, created_at FROM users "
        "WHERE id::text = ANY(%(user_ids)s)",
        description="Query of the application's users table for enrichment: takes %(user_ids)s "
        "(text[]), answers user_id, role, created_at. Empty disables user enrichment.",
    )
    duckdb_lock_timeout_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="How long a writer waits for the DuckDB file."
    )
    redshift_s3_prefix: str = Field(
        default="platform-events/staging/", description="S3 key prefix of Redshift COPY staging."
    )
    redshift_statement_timeout_seconds: float = Field(
        default=300.0, gt=0, le=3600, description="How long a Data API statement may run."
    )
    geoip_database: Path | None = Field(
        default=None, description="Path to a MaxMind .mmdb city database."
    )
    ingest_write_keys: SecretStr | None = Field(
        default=None, description="Comma-separated write keys accepted by ingest_events."
    )
    ingest_ip_privacy: Literal["drop", "truncate", "keep"] = Field(
        default="drop",
        description="What ingest_events stores of the client IP once geo is resolved: nothing "
        "(drop), its /24 or /48 network (truncate), or the address (keep).",
    )
    local_auth_token: SecretStr | None = Field(
        default=None, description="Bearer token `platform-events serve` requires."
    )
    erasure_audit_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of the GDPR erasure audit (user ids are stored as HMAC-SHA256 under "
        "it); unset means a key generated once under $PLATFORM_EVENTS_HOME (local use only).",
    )
    login_passwords: SecretStr | None = Field(
        default=None,
        description="JSON object login user => password of the password login users "
        "`migrate_database` creates (deployed: the app's and analyst's, from Secret Manager).",
    )
    scheduler_project_id: str | None = Field(
        default=None,
        description="GCP project of the Cloud Scheduler jobs; default BIGQUERY_PROJECT_ID.",
    )
    scheduler_location: str = Field(
        default="us-central1", description="Region of the Cloud Scheduler jobs."
    )
    scheduler_job_prefix: str = Field(
        default="platform-events-",
        description="Cloud Scheduler job ids are this prefix plus stream, aggregate, cleanup, "
        "retention, erasure.",
    )
    dbt_executable: Path | None = Field(
        default=None,
        description="The dbt that `platform-events models` runs; default .venv-dbt/bin/dbt of the "
        "checkout, built from analytics/requirements.txt on first use.",
    )
    models_schema: str = Field(
        default="analytics",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Schema (BigQuery: dataset) the dbt models are built in, beside `events`.",
    )
    redshift_host: str | None = Field(
        default=None, description="Redshift endpoint host the dbt models connect to."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    client_spool_dir: Path | None = Field(
        default=None,
        description="Where the Python client keeps batches the store could not take before exit; "
        "default $PLATFORM_EVENTS_HOME/spool.",
    )
    client_spool_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Bound of the client spool in bytes; 0 turns the spool off.",
    )
    client_spool_max_files: int = Field(
        default=10_000, ge=1, description="Bound of the client spool in files (one per batch)."
    )

    @field_validator("database_url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value or None

    @field_validator("stream_fanout_url")
    @classmethod
    def _fanout_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// URL (the stream function's own)")
        return value or None

    @model_validator(mode="after")
    def _warehouse_requirements(self) -> Settings:
        if self.warehouse == "bigquery" and not self.bigquery_project_id:
            raise ValueError("BIGQUERY_PROJECT_ID is required when WAREHOUSE=bigquery")
        if self.warehouse == "redshift":
            if not (self.redshift_workgroup or self.redshift_cluster_id):
                raise ValueError(
                    "REDSHIFT_WORKGROUP or REDSHIFT_CLUSTER_ID is required when WAREHOUSE=redshift"
                )
            if not self.redshift_s3_bucket or not self.redshift_iam_role_arn:
                raise ValueError(
                    "REDSHIFT_S3_BUCKET and REDSHIFT_IAM_ROLE_ARN are required "
                    "when WAREHOUSE=redshift"
                )
        return self

    @property
    def home(self) -> Path:
        return self.platform_events_home

    @property
    def client_spool(self) -> Path | None:
        """The client spool's directory, or None when the spool is off."""
        if self.client_spool_max_bytes == 0:
            return None
        return self.client_spool_dir or self.platform_events_home / "spool"

    @property
    def duckdb_file(self) -> Path:
        return self.duckdb_path or self.platform_events_home / "warehouse.duckdb"

    def write_keys(self) -> frozenset[str]:
        if self.ingest_write_keys is None:
            return frozenset()
        raw = self.ingest_write_keys.get_secret_value()
        return frozenset(key.strip() for key in raw.split(",") if key.strip())


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides, naming a bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"]).upper()
            name = loc or "configuration"
            problems.append(f"{name}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
