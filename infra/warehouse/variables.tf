variable "project_id" {
  type        = string
  description = "GCP project of the BigQuery dataset."
}

variable "location" {
  type        = string
  description = "BigQuery dataset location (BIGQUERY_LOCATION of the functions)."
  default     = "US"
}

variable "dataset_id" {
  type        = string
  description = "BigQuery dataset id (BIGQUERY_DATASET_ID of the functions)."
  default     = "platform_events"
  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1023}$", var.dataset_id))
    error_message = "dataset_id must be letters, digits and underscores."
  }
}

variable "events_table_id" {
  type        = string
  description = "Events table name (BIGQUERY_TABLE of the functions)."
  default     = "events"
}

variable "aggregations_table_id" {
  type        = string
  description = "Aggregations table name."
  default     = "event_aggregations"
}

variable "events_schema_path" {
  type        = string
  description = "Path of sinks/schema/events.json: the one schema the Python sinks also read, so code and table cannot drift."
  validation {
    condition     = endswith(var.events_schema_path, ".json")
    error_message = "events_schema_path must point at a BigQuery JSON schema file."
  }
}

variable "aggregations_schema_path" {
  type        = string
  description = "Path of sinks/schema/event_aggregations.json (BigQuery JSON schema)."
  validation {
    condition     = endswith(var.aggregations_schema_path, ".json")
    error_message = "aggregations_schema_path must point at a BigQuery JSON schema file."
  }
}

variable "longest_retention_days" {
  type        = number
  description = "Longest retention of the event catalogue (transactions: 7 years = 2557 days); partitions older than this expire."
  default     = 2557
  validation {
    condition     = var.longest_retention_days >= 2555
    error_message = "longest_retention_days must cover the catalogue's longest retention (7 years, at least 2555 days)."
  }
}

variable "kms_key_name" {
  type        = string
  description = "Cloud KMS key in the dataset's location for customer-managed encryption of the dataset (BigQuery's service agent is granted use of it); null keeps Google-managed keys."
  default     = null
}

variable "iam_propagation_seconds" {
  type        = number
  description = "Seconds the dataset waits after BigQuery's service agent is granted the key: IAM changes take about two minutes to apply."
  default     = 120
  validation {
    condition     = var.iam_propagation_seconds >= 0 && var.iam_propagation_seconds <= 900
    error_message = "iam_propagation_seconds must be between 0 and 900."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the tables (and keep the dataset's contents on destroy)."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the dataset and tables."
  default     = {}
}
