# Cloud Scheduler calls the scheduled functions with an OIDC token of a dedicated invoker account,
# which may invoke those functions and nothing else.

locals {
  targets = toset([for s in var.schedules : s.function])
}

resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.name}-invoker"
  display_name = "platform-events scheduler invoker"
  description  = "Identity of the Cloud Scheduler jobs: roles/run.invoker on the scheduled functions only."
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.targets
  project  = var.project_id
  location = var.region
  service  = var.functions[each.key].service
  role     = "roles/run.invoker"
  member   = google_service_account.invoker.member
}

# The jobs' first calls come within a minute; IAM changes take about two minutes to apply
# (https://cloud.google.com/iam/docs/access-change-propagation), so the jobs are created after.
resource "time_sleep" "invoker_grants" {
  create_duration = "${var.iam_propagation_seconds}s"
  triggers        = { for key, grant in google_cloud_run_service_iam_member.invoker : key => grant.id }
}

resource "google_cloud_scheduler_job" "this" {
  for_each         = var.schedules
  project          = var.project_id
  region           = var.region
  name             = "${var.job_prefix}${each.key}"
  description      = "platform-events: ${each.key} calls ${var.functions[each.value.function].service} (${each.value.cron})."
  schedule         = each.value.cron
  time_zone        = var.time_zone
  attempt_deadline = each.value.attempt_deadline
  paused           = each.value.paused

  retry_config {
    retry_count          = each.value.retry_count
    max_retry_duration   = "0s"
    min_backoff_duration = "10s"
    max_backoff_duration = "60s"
    max_doublings        = 2
  }

  http_target {
    http_method = "POST"
    uri         = var.functions[each.value.function].url
    body        = base64encode(each.value.body)
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = var.functions[each.value.function].url
    }
  }

  depends_on = [time_sleep.invoker_grants]
}
