variable "project_id" {
  type        = string
  description = "GCP project of the warehouse."
}

variable "region" {
  type        = string
  description = "Region of the Cloud Run job and the Cloud Scheduler job."
}

variable "name" {
  type        = string
  description = "Prefix of resource names."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, at most 21 characters."
  }
}

variable "location" {
  type        = string
  description = "BigQuery location of the events dataset (the models dataset is created beside it)."
}

variable "events_dataset_id" {
  type        = string
  description = "Dataset of the events table the models read."
}

variable "events_table_id" {
  type        = string
  description = "The events table's name."
  default     = "events"
}

variable "models_dataset_id" {
  type        = string
  description = "Dataset the models are built in (MODELS_SCHEMA)."
  default     = "platform_events_analytics"
  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1023}$", var.models_dataset_id))
    error_message = "models_dataset_id: letters, digits and underscores, not starting with a digit."
  }
}

variable "image" {
  type        = string
  description = "Container image of analytics/Dockerfile (dbt and the project), e.g. REGION-docker.pkg.dev/PROJECT/REPO/models:TAG."
  validation {
    condition     = length(var.image) > 0
    error_message = "image: build analytics/Dockerfile and give its image reference."
  }
}

variable "schedule" {
  type        = string
  description = "Cron schedule of the dbt build (default: hourly, a quarter past, after aggregate_events at :00)."
  default     = "15 * * * *"
  validation {
    condition     = length(split(" ", var.schedule)) == 5
    error_message = "schedule: a five-field cron expression."
  }
}

variable "time_zone" {
  type        = string
  description = "IANA time zone the schedule is read in."
  default     = "Etc/UTC"
  validation {
    condition     = can(regex("^[A-Za-z_]+(/[-+A-Za-z0-9_]+)*$", var.time_zone))
    error_message = "time_zone must be an IANA time zone name such as Etc/UTC or Europe/Paris."
  }
}

variable "timeout_seconds" {
  type        = number
  description = "How long one dbt build may run."
  default     = 3600
  validation {
    condition     = var.timeout_seconds >= 60 && var.timeout_seconds <= 86400
    error_message = "timeout_seconds: between 60 and 86400."
  }
}

variable "kms_key_name" {
  type        = string
  description = "Cloud KMS key for the models dataset (null: Google-managed encryption)."
  default     = null
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the job and the dataset's contents from deletion."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels on every resource."
  default     = {}
}
