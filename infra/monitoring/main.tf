# Log-based metrics over the functions' JSON logs (the fields are documented in infra/README.md and
# in platform_events.jobs / pipeline.stream) and the alert policies on them.

locals {
  functions_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=(${join(" OR ", [for s in var.service_names : "\"${s}\""])})",
  ])
  status_filter = "${local.functions_filter} AND jsonPayload.job=\"status\" AND jsonPayload.message=\"status finished\""
  metric_prefix = "logging.googleapis.com/user"
  metrics = {
    backlog_age    = google_logging_metric.backlog_age
    failed_events  = google_logging_metric.failed_events
    sync_errors    = google_logging_metric.sync_errors
    stream_summary = google_logging_metric.stream_runs
  }
  metric_names = {
    backlog_age    = "${var.name}/backlog_age_seconds"
    failed_events  = "${var.name}/failed_events"
    sync_errors    = "${var.name}/sync_errors"
    stream_summary = "${var.name}/stream_runs"
  }
}

# pipeline_status (scheduled) logs the age of the oldest pending event.
resource "google_logging_metric" "backlog_age" {
  project         = var.project_id
  name            = local.metric_names.backlog_age
  description     = "Age in seconds of the oldest pending event, from pipeline_status summaries."
  filter          = local.status_filter
  value_extractor = "EXTRACT(jsonPayload.oldest_pending_age_s)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "s"
    display_name = "platform-events backlog age"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 2
      scale              = 1
    }
  }
}

# pipeline_status logs how many events are in the failed state (they wait for reprocess_events).
resource "google_logging_metric" "failed_events" {
  project         = var.project_id
  name            = local.metric_names.failed_events
  description     = "Events in the failed state, from pipeline_status summaries."
  filter          = local.status_filter
  value_extractor = "EXTRACT(jsonPayload.failed)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "platform-events failed events"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 2
      scale              = 1
    }
  }
}

# Sync errors: the warehouse was unavailable (a batch released), or a job run failed.
resource "google_logging_metric" "sync_errors" {
  project = var.project_id
  name    = local.metric_names.sync_errors
  description = join(" ", [
    "Stream runs stopped by an unavailable warehouse and failed job runs,",
    "per function (ERROR lines of the functions).",
  ])
  filter = join(" AND ", [
    local.functions_filter,
    "severity>=ERROR",
    "jsonPayload.message=(\"warehouse unavailable: batch released, stream stopped\" OR \"job failed\" OR \"configuration error\")",
  ])
  label_extractors = {
    service = "EXTRACT(resource.labels.service_name)"
  }

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "platform-events sync errors"
    labels {
      key         = "service"
      value_type  = "STRING"
      description = "Cloud Run service (function) that logged the error."
    }
  }
}

# One count per stream_platform_events run: its absence means streaming stopped.
resource "google_logging_metric" "stream_runs" {
  project     = var.project_id
  name        = local.metric_names.stream_summary
  description = "stream_platform_events runs (their summary line)."
  filter      = "${local.functions_filter} AND jsonPayload.job=\"stream\" AND jsonPayload.message=\"stream finished\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "platform-events stream runs"
  }
}

# The Monitoring API refuses an alert policy on a log-based metric created moments before ("Cannot
# find metric(s) ... it could take up to 10 minutes to become available", hashicorp/
# terraform-provider-google#11102): the policies wait this long after their metrics. A new metric
# (a renamed one) replaces the sleep through its triggers, so the wait repeats exactly when needed.
resource "time_sleep" "metrics_visible" {
  create_duration = "${var.metric_visibility_wait_seconds}s"
  triggers = {
    for key, metric in local.metrics : key => metric.id
  }
}

resource "google_monitoring_alert_policy" "backlog_age" {
  project               = var.project_id
  display_name          = "${var.name}: event backlog older than ${var.backlog_age_threshold_seconds}s"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels
  depends_on            = [time_sleep.metrics_visible]

  conditions {
    display_name = "oldest pending event age"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_prefix}/${google_logging_metric.backlog_age.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.backlog_age_threshold_seconds
      duration        = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Pending events are not being delivered. Check `platform-events status` / the pipeline_status function, the stream function's logs and the warehouse. See infra/README.md (Operations)."
  }
}

resource "google_monitoring_alert_policy" "failed_events" {
  project               = var.project_id
  display_name          = "${var.name}: failed events waiting for reprocess"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels
  depends_on            = [time_sleep.metrics_visible]

  conditions {
    display_name = "events in the failed state"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_prefix}/${google_logging_metric.failed_events.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.failed_events_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Events exhausted MAX_RETRIES. Read their errors with the pipeline_status function, fix the cause, then call reprocess_events with {\"failed\": true} (infra/README.md)."
  }
}

resource "google_monitoring_alert_policy" "sync_errors" {
  project               = var.project_id
  display_name          = "${var.name}: warehouse sync errors"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels
  depends_on            = [time_sleep.metrics_visible]

  conditions {
    display_name = "sync errors in 15 minutes"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_prefix}/${google_logging_metric.sync_errors.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.sync_errors_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.service"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A function logged 'warehouse unavailable', 'job failed' or 'configuration error'. Released batches are retried automatically; the incident id in the log line leads to the stack trace."
  }
}

resource "google_monitoring_alert_policy" "stream_absent" {
  project               = var.project_id
  display_name          = "${var.name}: streaming stopped"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels
  depends_on            = [time_sleep.metrics_visible]

  conditions {
    display_name = "no stream run for ${var.stream_absent_minutes} minutes"
    condition_absent {
      filter   = "metric.type=\"${local.metric_prefix}/${google_logging_metric.stream_runs.name}\" AND resource.type=\"cloud_run_revision\""
      duration = "${var.stream_absent_minutes * 60}s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "stream_platform_events has not finished a run. Check the Cloud Scheduler job <prefix>stream (paused?), the function's logs and its invoker binding."
  }
}
