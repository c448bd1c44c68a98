# The BigQuery warehouse: the events table the stream job writes through the Storage Write API, and
# the aggregations table.
# Columns come from the JSON schema files the Python sinks read (never repeated here).

locals {
  events_schema       = jsondecode(file(var.events_schema_path))
  aggregations_schema = jsondecode(file(var.aggregations_schema_path))
  partition_ms        = var.longest_retention_days * 24 * 60 * 60 * 1000
}

# With a customer-managed key, BigQuery's service agent encrypts with it: it needs the key's
# encrypter/decrypter role before the dataset's tables are created
# (https://cloud.google.com/bigquery/docs/customer-managed-encryption#grant_permission).
data "google_bigquery_default_service_account" "this" {
  count   = var.kms_key_name == null ? 0 : 1
  project = var.project_id
}

resource "google_kms_crypto_key_iam_member" "bigquery" {
  count         = var.kms_key_name == null ? 0 : 1
  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = data.google_bigquery_default_service_account.this[0].member
}

# IAM changes take about two minutes to apply (https://cloud.google.com/iam/docs/access-change-propagation).
resource "time_sleep" "kms_grant" {
  count           = var.kms_key_name == null ? 0 : 1
  create_duration = "${var.iam_propagation_seconds}s"
  triggers        = { grant = google_kms_crypto_key_iam_member.bigquery[0].id }
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

  lifecycle {
    # The key must be in the dataset's location: a multi-region dataset (US, EU) takes a key of
    # the matching multi-region (us, eu).
    precondition {
      condition     = var.kms_key_name == null || try(lower(split("/", var.kms_key_name)[3]) == lower(var.location), false)
      error_message = "kms_key_name must be a key in the dataset's location (${lower(var.location)}): a CMEK key must be in its resource's location."
    }
  }

  depends_on = [time_sleep.kms_grant]
}

resource "google_bigquery_table" "events" {
  #checkov:skip=CKV_GCP_80:CMEK is opt-in through var.kms_key_name on the dataset default; Google-managed otherwise.
  project                  = var.project_id
  dataset_id               = google_bigquery_dataset.this.dataset_id
  table_id                 = var.events_table_id
  description              = "Delivered events, one row per event_id (exactly once: Storage Write API, one committed PENDING stream per delivery batch)."
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
