variable "name" {
  type        = string
  description = "Prefix of every AWS resource name (namespace, workgroup, bucket, roles)."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "google_service_account_ids" {
  type        = list(string)
  description = "Unique ids (numeric) of the Google service accounts of the warehouse functions: the only identities the pipeline role trusts."
  validation {
    condition     = length(var.google_service_account_ids) > 0 && alltrue([for id in var.google_service_account_ids : can(regex("^[0-9]{10,30}$", id))])
    error_message = "google_service_account_ids must be the service accounts' numeric unique ids."
  }
}

variable "web_identity_audience" {
  type        = string
  description = "Audience of the Google ID tokens the functions present (REDSHIFT_AWS_AUDIENCE); the role's trust policy requires it."
  default     = "sts.amazonaws.com"
}

variable "schema_name" {
  type        = string
  description = "Redshift schema the pipeline's database user owns (REDSHIFT_SCHEMA)."
  default     = "platform_events"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.schema_name))
    error_message = "schema_name must be a lower-case identifier."
  }
}

variable "database_name" {
  type        = string
  description = "Redshift database of the events table (REDSHIFT_DATABASE)."
  default     = "platform_events"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,63}$", var.database_name))
    error_message = "database_name must be a lower-case identifier."
  }
}

variable "base_capacity" {
  type        = number
  description = "Base capacity of the Serverless workgroup in RPUs (8 to 512, by 8)."
  default     = 8
  validation {
    condition     = var.base_capacity >= 8 && var.base_capacity <= 512 && var.base_capacity % 8 == 0
    error_message = "base_capacity must be a multiple of 8 between 8 and 512."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets of the workgroup (three AZs); empty uses the default VPC's."
  default     = []
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the workgroup; empty uses the VPC's default group."
  default     = []
}

variable "staging_prefix" {
  type        = string
  description = "S3 key prefix of the COPY staging files (REDSHIFT_S3_PREFIX of the sink)."
  default     = "platform-events/staging/"
  validation {
    condition     = endswith(var.staging_prefix, "/") && !startswith(var.staging_prefix, "/")
    error_message = "staging_prefix must end with / and not start with one."
  }
}

variable "staging_expiration_days" {
  type        = number
  description = "Staging files are deleted after this many days (the sink deletes them after COPY; this catches leftovers)."
  default     = 3
  validation {
    condition     = var.staging_expiration_days >= 1 && var.staging_expiration_days <= 90
    error_message = "staging_expiration_days must be between 1 and 90."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Keep the staging bucket when it still holds objects on destroy."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags applied to every AWS resource (the labels of the GCP side)."
  default     = {}
}
