# The BigQuery warehouse: the events table the stream job MERGEs into and the aggregations table.
# Columns come from the JSON schema files the Python sinks read (never repeated here).

locals {
  events_schema       = jsondecode(file(var.events_schema_path))
  aggregations_schema = jsondecode(file(var.aggregations_schema_path))
  partition_ms        = var.longest_retention_days * 24 * 60 * 60 * 1000
}

resource "google_bigquery_dataset" "this" {
  #checkov:skip=CKV_GCP_81:CMEK is opt-in through var.kms_key_name; Google-managed encryption at rest otherwise.
  project                    = var.project_id
  dataset_id                 = var.dataset_id
  location                   = var.location
  description                = "platform-events warehouse: delivered events and their aggregations."
  delete_contents_on_destroy = !var.deletion_protection
  labels                     = var.labels

  dynamic "default_encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = default_encryption_configuration.value
    }
  }
}

resource "google_bigquery_table" "events" {
  #checkov:skip=CKV_GCP_80:CMEK is opt-in through var.kms_key_name on the dataset default; Google-managed otherwise.
  project                  = var.project_id
  dataset_id               = google_bigquery_dataset.this.dataset_id
  table_id                 = var.events_table_id
  description              = "Delivered events, one row per event_id (MERGE by event_id)."
  deletion_protection      = var.deletion_protection
  require_partition_filter = true
  clustering               = ["event_type", "user_id"]
  schema                   = jsonencode(local.events_schema)
  labels                   = var.labels

  time_partitioning {
    type          = "DAY"
    field         = "occurred_at"
    expiration_ms = local.partition_ms
  }
}

resource "google_bigquery_table" "aggregations" {
  #checkov:skip=CKV_GCP_80:CMEK is opt-in through var.kms_key_name on the dataset default; Google-managed otherwise.
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.this.dataset_id
  table_id            = var.aggregations_table_id
  description         = "Event counts per bucket, granularity and type."
  deletion_protection = var.deletion_protection
  clustering          = ["granularity", "event_type"]
  schema              = jsonencode(local.aggregations_schema)
  labels              = var.labels

  time_partitioning {
    type          = "DAY"
    field         = "bucket_start"
    expiration_ms = local.partition_ms
  }
}
