# The dbt models of analytics/ on BigQuery, run on a schedule: Cloud Scheduler starts a Cloud Run
# job whose image (analytics/Dockerfile) runs `dbt build` (models, then their tests) into their own
# dataset. A job, not BigQuery scheduled queries: the incremental models' merge and erasure
# propagation and the dbt tests are dbt's materializations at run time, which compiled SQL frozen
# into scheduled queries would lose.

locals {
  job_uri = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.models.name}:run"
}

resource "google_bigquery_dataset" "models" {
  #checkov:skip=CKV_GCP_81:CMEK is opt-in through var.kms_key_name; Google-managed encryption at rest otherwise.
  project                    = var.project_id
  dataset_id                 = var.models_dataset_id
  location                   = var.location
  description                = "platform-events dbt models: sessions, users, behaviour features, funnel, cohorts."
  delete_contents_on_destroy = !var.deletion_protection
  labels                     = var.labels

  dynamic "default_encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = default_encryption_configuration.value
    }
  }
}

resource "google_service_account" "models" {
  project      = var.project_id
  account_id   = "${var.name}-models"
  display_name = "platform-events dbt models"
  description  = "Runs dbt build: reads the events dataset, writes the models dataset, runs query jobs."
}

resource "google_bigquery_dataset_iam_member" "models_writes_models" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.models.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.models.member
}

resource "google_bigquery_dataset_iam_member" "models_reads_events" {
  project    = var.project_id
  dataset_id = var.events_dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.models.member
}

resource "google_project_iam_member" "models_runs_queries" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.models.member
}

resource "google_cloud_run_v2_job" "models" {
  project             = var.project_id
  name                = "${var.name}-models"
  location            = var.region
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    task_count = 1
    template {
      service_account = google_service_account.models.email
      timeout         = "${var.timeout_seconds}s"
      max_retries     = 1

      containers {
        image = var.image
        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }
        # The profile (analytics/profiles.yml) reads the pipeline's own variable names.
        env {
          name  = "DBT_TARGET"
          value = "bigquery"
        }
        env {
          name  = "BIGQUERY_PROJECT_ID"
          value = var.project_id
        }
        env {
          name  = "BIGQUERY_LOCATION"
          value = var.location
        }
        env {
          name  = "BIGQUERY_TABLE"
          value = var.events_table_id
        }
        env {
          name  = "EVENTS_SCHEMA"
          value = var.events_dataset_id
        }
        env {
          name  = "MODELS_SCHEMA"
          value = google_bigquery_dataset.models.dataset_id
        }
      }
    }
  }
}

# Cloud Scheduler calls the Cloud Run Admin API's jobs.run, a Google API: an OAuth access token
# (not an OIDC identity token, which is for calling a service's own URL).
resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name}-models-run"
  display_name = "platform-events models scheduler"
  description  = "Starts the dbt models job on its schedule, and nothing else."
}

# roles/run.invoker on the job is what executing it takes
# (https://cloud.google.com/run/docs/execute/jobs-on-schedule, "Required roles").
resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_models" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.models.name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

resource "google_cloud_scheduler_job" "models" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name}-models"
  description      = "dbt build of the analytics models (after the hourly aggregation)."
  schedule         = var.schedule
  time_zone        = var.time_zone
  attempt_deadline = "60s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "600s"
  }

  http_target {
    http_method = "POST"
    uri         = local.job_uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler_runs_models]
}
