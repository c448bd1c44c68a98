variable "project_id" {
  type        = string
  description = "GCP project of the Cloud Scheduler jobs (SCHEDULER_PROJECT_ID of the functions)."
}

variable "region" {
  type        = string
  description = "Region of the jobs (SCHEDULER_LOCATION of the functions) and of the functions' services."
}

variable "name" {
  type        = string
  description = "Prefix of the invoker service account."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "job_prefix" {
  type        = string
  description = "Job ids are this prefix plus the job key (SCHEDULER_JOB_PREFIX of the functions)."
  default     = "platform-events-"
  validation {
    condition     = can(regex("^[a-zA-Z][-_a-zA-Z0-9]*$", var.job_prefix))
    error_message = "job_prefix must be letters, digits, dashes and underscores."
  }
}

variable "jobs" {
  type = map(object({
    schedule    = string
    function    = string
    description = string
  }))
  description = "Scheduled jobs by key (stream, aggregate, cleanup, retention, erasure, status): cron schedule and the entry point called."
  validation {
    condition     = alltrue([for job in values(var.jobs) : length(split(" ", job.schedule)) == 5])
    error_message = "every schedule must be a five-field cron expression."
  }
}

variable "function_uris" {
  type        = map(string)
  description = "HTTPS URI of each function, by entry point."
}

variable "function_services" {
  type        = map(string)
  description = "Cloud Run service behind each function, by entry point (the invoker gets run.invoker on it)."
}

variable "time_zone" {
  type        = string
  description = "Time zone of the cron schedules (the seed's schedules are UTC)."
  default     = "Etc/UTC"
}

variable "attempt_deadline" {
  type        = string
  description = "How long Cloud Scheduler waits for a function's answer."
  default     = "600s"
  validation {
    condition     = can(regex("^[0-9]+s$", var.attempt_deadline))
    error_message = "attempt_deadline must be a duration in seconds such as 600s."
  }
}

variable "retry_count" {
  type        = number
  description = "Retries of a failed run (the jobs are idempotent: a retry resumes where the last run stopped)."
  default     = 3
  validation {
    condition     = var.retry_count >= 0 && var.retry_count <= 5
    error_message = "retry_count must be between 0 and 5."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels (Cloud Scheduler jobs take none; kept for module uniformity and future resources)."
  default     = {}
}
