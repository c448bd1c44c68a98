output "metric_types" {
  description = "Metric type of each log-based metric (backlog_age, failed_events, sync_errors), for dashboards."
  value = {
    backlog_age   = "logging.googleapis.com/user/${google_logging_metric.backlog_age.name}"
    failed_events = "logging.googleapis.com/user/${google_logging_metric.failed_events.name}"
    sync_errors   = "logging.googleapis.com/user/${google_logging_metric.sync_errors.name}"
  }
}

output "alert_policy_ids" {
  description = "Id of each alert policy."
  value = {
    backlog_age   = google_monitoring_alert_policy.backlog_age.id
    failed_events = google_monitoring_alert_policy.failed_events.id
    sync_errors   = google_monitoring_alert_policy.sync_errors.id
  }
}
