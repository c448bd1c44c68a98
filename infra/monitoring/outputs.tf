output "metric_types" {
  description = "Log-based metric name => full metric type, for dashboards."
  value = {
    for key, metric in {
      backlog_age   = google_logging_metric.backlog_age
      failed_events = google_logging_metric.failed_events
      sync_errors   = google_logging_metric.sync_errors
      stream_runs   = google_logging_metric.stream_runs
    } : key => "${local.metric_prefix}/${metric.name}"
  }
}

output "alert_policy_ids" {
  description = "Alert name => alert policy id."
  value = {
    backlog_age   = google_monitoring_alert_policy.backlog_age.id
    failed_events = google_monitoring_alert_policy.failed_events.id
    sync_errors   = google_monitoring_alert_policy.sync_errors.id
    stream_absent = google_monitoring_alert_policy.stream_absent.id
  }
}
