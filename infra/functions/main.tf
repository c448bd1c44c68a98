# The Cloud Functions (gen2): one archive of functions/ (with migrations/ staged inside it), one
# function per entry point of functions/main.py, one service account per role with least privilege.
# No function is public: invokers are named principals (scheduler, gateway, operators).

locals {
  roles = toset(["ingest", "pipeline", "erasure"])

  # What the archive holds: functions/ without caches and build metadata, plus migrations/ under
  # functions/migrations (platform_events.migrate looks there when deployed).
  excluded = "(^|/)(__pycache__|[^/]*\\.egg-info|\\.pytest_cache|\\.mypy_cache)(/|$)|\\.py[co]$"
  source_files = merge(
    { for f in fileset(var.functions_dir, "**") : f => "${var.functions_dir}/${f}" if !can(regex(local.excluded, f)) },
    { for f in fileset(var.migrations_dir, "**") : "migrations/${f}" => "${var.migrations_dir}/${f}" if !can(regex(local.excluded, f)) },
  )

  # Secrets each role mounts: its own DATABASE_URL, plus the write keys (ingest), the audit key
  # (erasure) and the AWS key of the Redshift sink (pipeline, erasure).
  aws_secrets = var.use_aws_credentials ? {
    AWS_ACCESS_KEY_ID     = "aws-access-key-id"
    AWS_SECRET_ACCESS_KEY = "aws-secret-access-key"
  } : {}
  role_secrets = {
    ingest = {
      DATABASE_URL      = var.database_url_secrets["ingest"]
      INGEST_WRITE_KEYS = google_secret_manager_secret.generated["ingest-write-keys"].secret_id
    }
    pipeline = merge(
      { DATABASE_URL = var.database_url_secrets["pipeline"] },
      { for env, key in local.aws_secrets : env => google_secret_manager_secret.aws[key].secret_id },
    )
    erasure = merge(
      {
        DATABASE_URL      = var.database_url_secrets["erasure"]
        ERASURE_AUDIT_KEY = google_secret_manager_secret.generated["erasure-audit-key"].secret_id
      },
      { for env, key in local.aws_secrets : env => google_secret_manager_secret.aws[key].secret_id },
    )
  }
  role_secret_pairs = merge([
    for role, secrets in local.role_secrets : { for env, secret in secrets : "${role}/${env}" => { role = role, secret = secret } }
  ]...)

  environment = { for key, value in var.environment : key => value if value != null }

  operator_grants = {
    for pair in setproduct(var.operator_functions, var.operator_invoker_members) : "${pair[0]}/${pair[1]}" => { function = pair[0], member = pair[1] }
    if contains(keys(var.functions), pair[0])
  }
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Access logs of a bucket that only holds build archives add no audit value; Cloud Audit Logs record access.
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-functions-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age        = 30
      with_state = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${var.build_dir}/functions-source.zip"

  dynamic "source" {
    for_each = local.source_files
    content {
      filename = source.key
      content  = file(source.value)
    }
  }
}

resource "google_storage_bucket_object" "source" {
  name   = "functions/${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# Runtime identities: one per role.
resource "google_service_account" "role" {
  for_each     = local.roles
  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "platform-events ${each.key} functions"
  description  = "Runtime identity of the ${each.key} Cloud Functions of platform-events."
}

# The build identity (Cloud Build of each function): reads the archive, pushes the image, logs.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name}-fn-build"
  display_name = "platform-events functions build"
  description  = "Builds the platform-events Cloud Functions from the source archive."
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])
  project  = var.project_id
  role     = each.key
  member   = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

# Warehouse: dataEditor on the dataset only; jobUser to run load and MERGE jobs. The ingest role
# never touches BigQuery.
resource "google_bigquery_dataset_iam_member" "data_editor" {
  for_each   = toset(["pipeline", "erasure"])
  project    = var.project_id
  dataset_id = var.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.role[each.key].email}"
}

resource "google_project_iam_member" "bigquery_job_user" {
  for_each = toset(["pipeline", "erasure"])
  project  = var.project_id
  role     = "roles/bigquery.jobUser"
  member   = "serviceAccount:${google_service_account.role[each.key].email}"
}

resource "google_project_iam_member" "cloudsql_client" {
  for_each = local.roles
  project  = var.project_id
  role     = "roles/cloudsql.client"
  member   = "serviceAccount:${google_service_account.role[each.key].email}"
}

# Secrets generated here: the ingest write keys (first key; add more comma-separated as new
# versions) and the HMAC key of the GDPR erasure audit.
resource "random_password" "generated" {
  for_each = toset(["ingest-write-keys", "erasure-audit-key"])
  length   = 48
  special  = false
}

resource "google_secret_manager_secret" "generated" {
  for_each  = random_password.generated
  project   = var.project_id
  secret_id = "${var.name}-${each.key}"
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "generated" {
  for_each    = random_password.generated
  secret      = google_secret_manager_secret.generated[each.key].id
  secret_data = each.value.result

  lifecycle {
    # Rotated by adding versions outside Terraform (e.g. more write keys): keep them.
    ignore_changes = [secret_data]
  }
}

resource "google_secret_manager_secret" "aws" {
  for_each  = toset(values(local.aws_secrets))
  project   = var.project_id
  secret_id = "${var.name}-${each.key}"
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "aws" {
  for_each    = toset(values(local.aws_secrets))
  secret      = google_secret_manager_secret.aws[each.key].id
  secret_data = each.key == "aws-access-key-id" ? var.aws_credentials.access_key_id : var.aws_credentials.secret_access_key
}

# Each role reads its own secrets only.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each  = local.role_secret_pairs
  project   = var.project_id
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.role[each.value.role].email}"
}

resource "google_cloudfunctions2_function" "this" {
  for_each    = var.functions
  project     = var.project_id
  location    = var.region
  name        = replace(each.key, "_", "-")
  description = each.value.description
  labels      = merge(var.labels, { "role" = each.value.role, "migrations" = substr(var.migrations_hash, 0, 16) })

  build_config {
    runtime         = var.runtime
    entry_point     = each.key
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory               = each.value.memory
    timeout_seconds                = each.value.timeout
    max_instance_count             = each.value.max_instances
    min_instance_count             = 0
    service_account_email          = google_service_account.role[each.value.role].email
    ingress_settings               = "ALLOW_ALL" # authentication is enforced by IAM (no public invoker)
    all_traffic_on_latest_revision = true
    vpc_connector                  = var.vpc_connector_id
    vpc_connector_egress_settings  = "PRIVATE_RANGES_ONLY"
    environment_variables          = local.environment

    dynamic "secret_environment_variables" {
      for_each = local.role_secrets[each.value.role]
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.accessor,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
  ]
}

# Invokers (gen2 functions are Cloud Run services: run.invoker). ingest_events: the listed
# principals (an API gateway's service account); on-demand functions: the operators.
resource "google_cloud_run_service_iam_member" "ingest_invoker" {
  for_each = contains(keys(var.functions), "ingest_events") ? toset(var.ingest_invoker_members) : toset([])
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.this["ingest_events"].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.key
}

resource "google_cloud_run_service_iam_member" "operator_invoker" {
  for_each = local.operator_grants
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.this[each.value.function].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value.member
}
