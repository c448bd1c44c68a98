variable "project_id" {
  type        = string
  description = "GCP project of the log-based metrics and alert policies (where the functions log)."
}

variable "name" {
  type        = string
  description = "Prefix of the metric names and alert display names."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "service_names" {
  type        = list(string)
  description = "Cloud Run service names of the functions whose logs the metrics read."
  validation {
    condition     = length(var.service_names) > 0
    error_message = "service_names must name at least one function."
  }
}

variable "notification_channels" {
  type        = list(string)
  description = "Monitoring notification channel ids (projects/P/notificationChannels/N) every alert notifies; empty: alerts open incidents without notifying."
  default     = []
  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "notification_channels must be ids of the form projects/P/notificationChannels/N."
  }
}

variable "backlog_age_threshold_seconds" {
  type        = number
  description = "Alert when the oldest pending event (pipeline_status's oldest_pending_age_s) is older than this."
  default     = 600
  validation {
    condition     = var.backlog_age_threshold_seconds >= 60
    error_message = "backlog_age_threshold_seconds must be at least 60 (streaming runs every minute)."
  }
}

variable "failed_events_threshold" {
  type        = number
  description = "Alert when more events than this are in the failed state (pipeline_status's failed), awaiting reprocess_events."
  default     = 0
  validation {
    condition     = var.failed_events_threshold >= 0
    error_message = "failed_events_threshold must not be negative."
  }
}

variable "sync_errors_threshold" {
  type        = number
  description = "Alert when more sync errors than this (warehouse unavailable, failed job runs) are logged within 15 minutes."
  default     = 2
  validation {
    condition     = var.sync_errors_threshold >= 0
    error_message = "sync_errors_threshold must not be negative."
  }
}

variable "stream_absent_minutes" {
  type        = number
  description = "Alert when no stream_platform_events run has logged its summary for this many minutes."
  default     = 10
  validation {
    condition     = var.stream_absent_minutes >= 3 && var.stream_absent_minutes <= 1440
    error_message = "stream_absent_minutes must be between 3 and 1440."
  }
}

variable "metric_visibility_wait_seconds" {
  type        = number
  description = "Seconds the alert policies wait after their log-based metrics are created: the Monitoring API can take up to 10 minutes to accept a new metric in a policy (hashicorp/terraform-provider-google#11102)."
  default     = 600
  validation {
    condition     = var.metric_visibility_wait_seconds >= 0 && var.metric_visibility_wait_seconds <= 1800
    error_message = "metric_visibility_wait_seconds must be between 0 and 1800."
  }
}

variable "labels" {
  type        = map(string)
  description = "User labels of the alert policies."
  default     = {}
}
