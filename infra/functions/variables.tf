variable "project_id" {
  type        = string
  description = "GCP project of the functions."
}

variable "region" {
  type        = string
  description = "Region of the functions and of the source bucket."
}

variable "name" {
  type        = string
  description = "Prefix of the bucket, service account and secret names."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "functions_dir" {
  type        = string
  description = "Path of functions/ (main.py, requirements.txt, the platform_events package)."
}

variable "migrations_dir" {
  type        = string
  description = "Path of migrations/; staged into the archive as functions/migrations, where platform_events.migrate looks when deployed."
}

variable "build_dir" {
  type        = string
  description = "Local directory the source archive is written to (git-ignored)."
}

variable "functions" {
  type = map(object({
    role          = string
    memory        = string
    timeout       = number
    max_instances = number
    description   = string
  }))
  description = "One entry per HTTP entry point of functions/main.py (key = entry point): the role whose service account and database user it runs as, memory, timeout in seconds and maximum instances."
  validation {
    condition     = alltrue([for f in values(var.functions) : contains(["ingest", "pipeline", "erasure"], f.role)])
    error_message = "every function's role must be ingest, pipeline or erasure."
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : f.timeout >= 1 && f.timeout <= 3600 && f.max_instances >= 1])
    error_message = "timeout must be 1-3600 seconds and max_instances at least 1."
  }
}

variable "runtime" {
  type        = string
  description = "Cloud Functions Python runtime."
  default     = "python312"
  validation {
    condition     = can(regex("^python3[0-9]+$", var.runtime))
    error_message = "runtime must be a Python runtime such as python312."
  }
}

variable "vpc_connector_id" {
  type        = string
  description = "Serverless VPC Access connector the functions reach Cloud SQL's private IP through."
}

variable "database_url_secrets" {
  type        = map(string)
  description = "Secret id of the DATABASE_URL for each role (ingest, pipeline, erasure)."
  validation {
    condition     = alltrue([for role in ["ingest", "pipeline", "erasure"] : contains(keys(var.database_url_secrets), role)])
    error_message = "database_url_secrets needs the ingest, pipeline and erasure roles."
  }
}

variable "dataset_id" {
  type        = string
  description = "BigQuery dataset the pipeline writes; its service accounts get dataEditor on it only."
}

variable "environment" {
  type        = map(string)
  description = "Plain environment variables every function reads (WAREHOUSE, BIGQUERY_*, REDSHIFT_*, STREAM_*, SCHEDULER_*...); null values are left out."
  default     = {}
}

variable "aws_credentials" {
  type = object({
    access_key_id     = string
    secret_access_key = string
  })
  description = "Access key of the AWS user the Redshift sink uses (warehouse = redshift); stored in Secret Manager and mounted as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY."
  default     = null
  sensitive   = true
}

variable "use_aws_credentials" {
  type        = bool
  description = "Whether aws_credentials are provided (known at plan time, unlike the sensitive value)."
  default     = false
}

variable "ingest_invoker_members" {
  type        = list(string)
  description = "IAM principals allowed to call ingest_events (e.g. the API gateway's service account). Never allUsers."
  default     = []
  validation {
    condition     = alltrue([for m in var.ingest_invoker_members : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "ingest_events is not public: list named principals, not allUsers or allAuthenticatedUsers."
  }
}

variable "operator_invoker_members" {
  type        = list(string)
  description = "IAM principals allowed to call the on-demand functions (reprocess_events, pipeline_status, erase_user)."
  default     = []
  validation {
    condition     = alltrue([for m in var.operator_invoker_members : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "operators are named principals, not allUsers or allAuthenticatedUsers."
  }
}

variable "operator_functions" {
  type        = list(string)
  description = "Functions the operators may call on demand."
  default     = ["reprocess_events", "pipeline_status", "erase_user"]
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every resource of the module that supports them."
  default     = {}
}
