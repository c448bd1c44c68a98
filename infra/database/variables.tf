variable "project_id" {
  type        = string
  description = "GCP project of the Cloud SQL instance and of the secrets."
}

variable "region" {
  type        = string
  description = "Region of the Cloud SQL instance."
}

variable "name" {
  type        = string
  description = "Prefix of the instance, secret and user names."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "network_id" {
  type        = string
  description = "Id of the VPC whose private services access gives the instance its private IP."
}

variable "database_version" {
  type        = string
  description = "Cloud SQL PostgreSQL major version."
  default     = "POSTGRES_16"
  validation {
    condition     = contains(["POSTGRES_15", "POSTGRES_16"], var.database_version)
    error_message = "database_version must be POSTGRES_15 or POSTGRES_16 (the versions the migrations are tested on)."
  }
}

variable "tier" {
  type        = string
  description = "Machine tier of the instance."
  default     = "db-custom-2-7680"
}

variable "availability_type" {
  type        = string
  description = "ZONAL or REGIONAL (high availability with a standby in another zone)."
  default     = "REGIONAL"
  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.availability_type)
    error_message = "availability_type must be ZONAL or REGIONAL."
  }
}

variable "disk_size_gb" {
  type        = number
  description = "Initial disk size (grows automatically)."
  default     = 50
  validation {
    condition     = var.disk_size_gb >= 10
    error_message = "disk_size_gb must be at least 10."
  }
}

variable "database_name" {
  type        = string
  description = "Name of the event store database."
  default     = "platform_events"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lower-case PostgreSQL identifier."
  }
}

variable "backup_retained_count" {
  type        = number
  description = "Automated daily backups kept."
  default     = 14
  validation {
    condition     = var.backup_retained_count >= 7 && var.backup_retained_count <= 365
    error_message = "backup_retained_count must be between 7 and 365."
  }
}

variable "pitr_log_days" {
  type        = number
  description = "Days of write-ahead log kept for point-in-time recovery."
  default     = 7
  validation {
    condition     = var.pitr_log_days >= 1 && var.pitr_log_days <= 7
    error_message = "pitr_log_days must be between 1 and 7."
  }
}

variable "max_connections" {
  type        = number
  description = "max_connections flag: functions instances x pool size plus headroom."
  default     = 200
  validation {
    condition     = var.max_connections >= 50 && var.max_connections <= 5000
    error_message = "max_connections must be between 50 and 5000."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the instance (both Terraform-side and the Cloud SQL API flag). Turn off explicitly before a teardown."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every resource of the module that supports them."
  default     = {}
}
