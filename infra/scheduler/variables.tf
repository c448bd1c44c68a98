variable "project_id" {
  type        = string
  description = "GCP project of the Cloud Scheduler jobs and of the invoker service account."
}

variable "region" {
  type        = string
  description = "Region of the Cloud Scheduler jobs (SCHEDULER_LOCATION of the functions) and of the functions they call."
}

variable "name" {
  type        = string
  description = "Prefix of the invoker service account id."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "job_prefix" {
  type        = string
  description = "Job ids are this prefix plus the schedule key (SCHEDULER_JOB_PREFIX of the functions, so `platform-events scheduler run stream` finds them)."
  validation {
    condition     = can(regex("^[a-zA-Z][-_a-zA-Z0-9]{0,400}$", var.job_prefix))
    error_message = "job_prefix must start with a letter and hold letters, digits, dashes and underscores."
  }
}

variable "time_zone" {
  type        = string
  description = "IANA time zone the cron schedules are read in (the seed's schedules are UTC)."
  default     = "Etc/UTC"
  validation {
    condition     = can(regex("^[A-Za-z_]+(/[-+A-Za-z0-9_]+)*$", var.time_zone))
    error_message = "time_zone must be an IANA time zone name such as Etc/UTC or Europe/Paris."
  }
}

variable "schedules" {
  type = map(object({
    cron             = string
    function         = string
    body             = optional(string, "{}")
    attempt_deadline = optional(string, "320s")
    retry_count      = optional(number, 1)
    paused           = optional(bool, false)
  }))
  description = "Schedule key (job id suffix) => cron, the function key it calls, its JSON body (a JSON object as a string), attempt deadline, retries and whether it starts paused."
  validation {
    condition     = alltrue([for s in var.schedules : length(split(" ", s.cron)) == 5])
    error_message = "cron must have five fields (minute hour day-of-month month day-of-week)."
  }
  validation {
    condition     = alltrue([for s in var.schedules : can(keys(jsondecode(s.body)))])
    error_message = "body must be a JSON object (every field of the functions' bodies is optional: \"{}\")."
  }
  validation {
    condition     = alltrue([for s in var.schedules : s.retry_count >= 0 && s.retry_count <= 5])
    error_message = "retry_count must be between 0 and 5."
  }
}

variable "functions" {
  type = map(object({
    url     = string
    service = string
  }))
  description = "Function key => HTTPS URL and Cloud Run service name (the functions module's `functions` output)."
  validation {
    condition     = alltrue([for fn in var.functions : startswith(fn.url, "https://")])
    error_message = "function urls must be https:// URLs (the OIDC audience)."
  }
}

variable "iam_propagation_seconds" {
  type        = number
  description = "Seconds the jobs wait after the invoker's grants: IAM changes take about two minutes to apply, and a job's first call comes within a minute."
  default     = 120
  validation {
    condition     = var.iam_propagation_seconds >= 0 && var.iam_propagation_seconds <= 900
    error_message = "iam_propagation_seconds must be between 0 and 900."
  }
}
