variable "project_id" {
  type        = string
  description = "GCP project of the log-based metrics and alert policies."
}

variable "name" {
  type        = string
  description = "Prefix of metric and policy names."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "notification_channels" {
  type        = list(string)
  description = "Monitoring notification channel ids (projects/P/notificationChannels/N) the alerts go to."
  default     = []
  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "notification_channels must be full ids: projects/P/notificationChannels/N."
  }
}

variable "backlog_age_threshold_seconds" {
  type        = number
  description = "Alert when the oldest pending event (status summary oldest_pending_age_s) is older than this."
  default     = 900
  validation {
    condition     = var.backlog_age_threshold_seconds >= 60
    error_message = "backlog_age_threshold_seconds must be at least 60."
  }
}

variable "failed_events_threshold" {
  type        = number
  description = "Alert when more events than this are failed (retries exhausted, waiting for reprocess_events)."
  default     = 0
  validation {
    condition     = var.failed_events_threshold >= 0
    error_message = "failed_events_threshold must not be negative."
  }
}

variable "sync_errors_threshold" {
  type        = number
  description = "Alert when more warehouse sync errors than this are logged in the alignment window."
  default     = 0
  validation {
    condition     = var.sync_errors_threshold >= 0
    error_message = "sync_errors_threshold must not be negative."
  }
}

variable "alignment_period" {
  type        = string
  description = "Window the alert conditions aggregate over."
  default     = "300s"
  validation {
    condition     = can(regex("^[0-9]+s$", var.alignment_period))
    error_message = "alignment_period must be a duration in seconds such as 300s."
  }
}

variable "labels" {
  type        = map(string)
  description = "User labels of the alert policies."
  default     = {}
}
