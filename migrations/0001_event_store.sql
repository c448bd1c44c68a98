-- 0001: the event store: platform_events (monthly partitions), its delivery ledger, and the catalogue table.

CREATE TABLE event_schemas (
    event_type      text        NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    version         integer     NOT NULL CHECK (version > 0),
    category        text        NOT NULL
                    CHECK (category IN ('transaction', 'interaction', 'user_activity', 'content')),
    json_schema     jsonb       NOT NULL CHECK (jsonb_typeof(json_schema) = 'object'),
    retention       interval    NOT NULL CHECK (retention > interval '0'),
    is_active       boolean     NOT NULL DEFAULT true,
    description     text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_type, version)
);
COMMENT ON TABLE event_schemas IS
    'The event catalogue: one row per type and version, with the JSON Schema of event_data and the retention.';

-- Events are immutable once stored: nothing but GDPR anonymization ever updates a row, so the
-- GIN index on the payload is written once per event. Queue state lives beside it.
CREATE TABLE platform_events (
    event_id        uuid        NOT NULL DEFAULT gen_random_uuid(),
    event_type      text        NOT NULL,
    event_category  text        NOT NULL,
    schema_version  integer     NOT NULL,
    user_id         text,
    session_id      text,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    received_at     timestamptz NOT NULL DEFAULT now(),
    event_data      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (event_id, received_at)
) PARTITION BY RANGE (received_at);
COMMENT ON TABLE platform_events IS
    'Every accepted event, partitioned by month of received_at (server clock). Delivery state is in platform_event_delivery.';

-- The guard: rows outside every monthly partition land here instead of failing the insert;
-- ensure_platform_event_partitions() moves them into their month when it creates it.
CREATE TABLE platform_events_default PARTITION OF platform_events DEFAULT;

CREATE INDEX platform_events_occurred_at_idx ON platform_events (occurred_at);
CREATE INDEX platform_events_user_idx ON platform_events (user_id, occurred_at) WHERE user_id IS NOT NULL;
CREATE INDEX platform_events_type_idx ON platform_events (event_type, occurred_at);
-- jsonb_path_ops: a third of the size of the default opclass and faster to build; it serves the
-- containment (@>) and jsonpath (@?, @@) filters query_events offers, which is all we query by.
CREATE INDEX platform_events_event_data_idx ON platform_events USING gin (event_data jsonb_path_ops);

-- Delivery state, one narrow row per event. Its primary key on event_id is the global idempotency
-- ledger (the partitioned table can only be unique on (event_id, received_at)). Claims and acks
-- rewrite this row only: measured on the embedded server, updating status on the wide event row
-- re-inserts into every index including the GIN one (no HOT update is possible when an indexed
-- column changes), which halved claim+ack throughput; see README "Performance".
CREATE TABLE platform_event_delivery (
    event_id        uuid        PRIMARY KEY,
    received_at     timestamptz NOT NULL,
    event_type      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'delivered', 'failed')),
    retry_count     integer     NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_at      timestamptz,
    last_error      text,
    processed_at    timestamptz
) WITH (fillfactor = 80,
        autovacuum_vacuum_scale_factor = 0.02,
        autovacuum_vacuum_insert_scale_factor = 0.05,
        autovacuum_analyze_scale_factor = 0.02);
COMMENT ON TABLE platform_event_delivery IS
    'Queue and delivery state of each event; event_id is the idempotency ledger.';

-- The claim reads only due pending rows in order: a small partial index that stays flat however
-- many delivered rows accumulate.
CREATE INDEX platform_event_delivery_due_idx ON platform_event_delivery (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX platform_event_delivery_claimed_idx ON platform_event_delivery (claimed_at)
    WHERE status = 'processing';
CREATE INDEX platform_event_delivery_failed_idx ON platform_event_delivery (event_type)
    WHERE status = 'failed';
CREATE INDEX platform_event_delivery_status_time_idx ON platform_event_delivery (status, received_at);

-- The seed's shape (state on the event row) for monitoring queries and ad-hoc reads.
CREATE VIEW platform_events_with_status AS
SELECT e.event_id, e.event_type, e.event_category, e.schema_version, e.user_id, e.session_id,
       e.occurred_at, e.received_at, e.received_at AS created_at, e.event_data, e.metadata,
       d.status AS processing_status, d.retry_count, d.next_attempt_at, d.claimed_at,
       d.last_error AS error_message, d.processed_at
FROM platform_events e
JOIN platform_event_delivery d ON d.event_id = e.event_id AND d.received_at = e.received_at;

CREATE TABLE platform_metrics_realtime (
    metric_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    metric_name     text        NOT NULL CHECK (length(metric_name) BETWEEN 1 AND 200),
    dimensions      jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(dimensions) = 'object'),
    metric_value    double precision NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    UNIQUE (metric_name, dimensions)
);
CREATE INDEX platform_metrics_realtime_expires_idx ON platform_metrics_realtime (expires_at);

CREATE TABLE event_aggregations (
    aggregation_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_start    timestamptz NOT NULL,
    granularity     text        NOT NULL CHECK (granularity IN ('hour', 'day', 'week')),
    event_type      text        NOT NULL,
    event_count     bigint      NOT NULL CHECK (event_count >= 0),
    unique_users    bigint      NOT NULL CHECK (unique_users >= 0),
    unique_sessions bigint      NOT NULL CHECK (unique_sessions >= 0),
    metrics         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket_start, granularity, event_type)
);
CREATE INDEX event_aggregations_type_idx ON event_aggregations (event_type, granularity, bucket_start);

CREATE TABLE warehouse_sync_status (
    sync_id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    warehouse_type   text        NOT NULL CHECK (warehouse_type IN ('duckdb', 'bigquery', 'redshift')),
    batch_start      timestamptz,
    batch_end        timestamptz,
    events_synced    integer     NOT NULL DEFAULT 0 CHECK (events_synced >= 0),
    events_failed    integer     NOT NULL DEFAULT 0 CHECK (events_failed >= 0),
    sync_duration_ms integer     CHECK (sync_duration_ms >= 0),
    status           text        NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'success', 'partial', 'failed')),
    error_message    text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX warehouse_sync_status_started_idx ON warehouse_sync_status (started_at);
CREATE INDEX warehouse_sync_status_warehouse_idx ON warehouse_sync_status (warehouse_type, started_at);
