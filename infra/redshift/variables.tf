variable "name" {
  type        = string
  description = "Prefix of the namespace, workgroup, bucket, role and user names."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "database_name" {
  type        = string
  description = "Redshift database (REDSHIFT_DATABASE of the functions)."
  default     = "dev"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lower-case identifier."
  }
}

variable "admin_username" {
  type        = string
  description = "Admin user of the namespace; its password is generated and kept by Redshift in Secrets Manager."
  default     = "platform_events_admin"
}

variable "base_capacity" {
  type        = number
  description = "Base RPUs of the workgroup."
  default     = 8
  validation {
    condition     = var.base_capacity >= 8 && var.base_capacity <= 512
    error_message = "base_capacity must be between 8 and 512 RPUs."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (at least three Availability Zones) of the workgroup."
  validation {
    condition     = length(var.subnet_ids) >= 3
    error_message = "Redshift Serverless needs subnets in at least three Availability Zones."
  }
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the workgroup (no inbound rule needed: the pipeline uses the Data API)."
  default     = []
}

variable "staging_prefix" {
  type        = string
  description = "S3 key prefix of the COPY staging files (REDSHIFT_S3_PREFIX of the functions)."
  default     = "platform-events/staging/"
  validation {
    condition     = endswith(var.staging_prefix, "/")
    error_message = "staging_prefix must end with a slash."
  }
}

variable "staging_expiration_days" {
  type        = number
  description = "Days before staged files are deleted (the sink deletes them after COPY; this catches leftovers)."
  default     = 7
  validation {
    condition     = var.staging_expiration_days >= 1
    error_message = "staging_expiration_days must be at least 1."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags applied to every resource of the module."
  default     = {}
}
