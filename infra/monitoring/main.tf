# Log-based metrics over the jobs' JSON summary lines (contract: platform_events/jobs/__init__.py
# and the stream job's summary) and alerts on them.
#   - backlog age: `status finished` lines (the status probe job runs pipeline_status every 5
#     minutes) carry oldest_pending_age_s and failed.
#   - sync errors: ERROR lines of the stream job (warehouse unavailable, batch released) carry
#     jsonPayload.sink.

locals {
  functions_logs = "resource.type=\"cloud_run_revision\""
  status_summary = "${local.functions_logs} AND jsonPayload.job=\"status\" AND jsonPayload.message=\"status finished\""
}

resource "google_logging_metric" "backlog_age" {
  project         = var.project_id
  name            = "${var.name}/backlog_oldest_pending_age_s"
  description     = "Age in seconds of the oldest pending event, from the status job's summary."
  filter          = local.status_summary
  value_extractor = "EXTRACT(jsonPayload.oldest_pending_age_s)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_logging_metric" "failed_events" {
  project         = var.project_id
  name            = "${var.name}/failed_events"
  description     = "Events whose retries are exhausted (status failed), from the status job's summary."
  filter          = local.status_summary
  value_extractor = "EXTRACT(jsonPayload.failed)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_logging_metric" "sync_errors" {
  project     = var.project_id
  name        = "${var.name}/warehouse_sync_errors"
  description = "Warehouse sync errors: ERROR lines of the stream job naming the sink."
  filter      = "${local.functions_logs} AND severity>=ERROR AND jsonPayload.sink:*"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_alert_policy" "backlog_age" {
  project               = var.project_id
  display_name          = "${var.name}: event backlog too old"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels

  documentation {
    mime_type = "text/markdown"
    content   = "The oldest pending event is older than ${var.backlog_age_threshold_seconds}s: the stream job is not keeping up or not running. Check `pipeline_status`, the stream job's logs and the warehouse; `platform-events scheduler run stream` forces a run."
  }

  conditions {
    display_name = "oldest pending event age > ${var.backlog_age_threshold_seconds}s"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.backlog_age.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.backlog_age_threshold_seconds
      duration        = "600s"
      aggregations {
        alignment_period     = var.alignment_period
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }
}

resource "google_monitoring_alert_policy" "failed_events" {
  project               = var.project_id
  display_name          = "${var.name}: failed events"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.failed_events_threshold} events exhausted their retries. Read `last_error` in platform_event_delivery, fix the cause, then call `reprocess_events`."
  }

  conditions {
    display_name = "failed events > ${var.failed_events_threshold}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.failed_events.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.failed_events_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = var.alignment_period
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }
}

resource "google_monitoring_alert_policy" "sync_errors" {
  project               = var.project_id
  display_name          = "${var.name}: warehouse sync errors"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.labels

  documentation {
    mime_type = "text/markdown"
    content   = "The stream job could not write to the warehouse (batches released and retried later). Check the warehouse's availability and warehouse_sync_status."
  }

  conditions {
    display_name = "warehouse sync errors > ${var.sync_errors_threshold}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.sync_errors.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.sync_errors_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = var.alignment_period
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }
}
