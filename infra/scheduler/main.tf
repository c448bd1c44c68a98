# Cloud Scheduler: the seed's schedules (plus the erasure queue and the status probe feeding the
# backlog-age metric), each POSTing {} to its function with an OIDC token of a dedicated invoker
# service account that may call those functions and nothing else.

resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.name}-scheduler"
  display_name = "platform-events scheduler invoker"
  description  = "Identity Cloud Scheduler signs its OIDC tokens with to call the scheduled functions."
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = toset([for job in values(var.jobs) : job.function])
  project  = var.project_id
  location = var.region
  service  = var.function_services[each.key]
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

resource "google_cloud_scheduler_job" "this" {
  for_each         = var.jobs
  project          = var.project_id
  region           = var.region
  name             = "${var.job_prefix}${each.key}"
  description      = each.value.description
  schedule         = each.value.schedule
  time_zone        = var.time_zone
  attempt_deadline = var.attempt_deadline

  retry_config {
    retry_count          = var.retry_count
    min_backoff_duration = "10s"
    max_backoff_duration = "300s"
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = var.function_uris[each.value.function]
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = var.function_uris[each.value.function]
    }
  }

  depends_on = [google_cloud_run_service_iam_member.invoker]
}
