variable "project_id" {
  type        = string
  description = "GCP project of the private pool and of the build."
}

variable "region" {
  type        = string
  description = "Region of the Cloud Build private pool (the instance's region)."
}

variable "name" {
  type        = string
  description = "Prefix of the pool and service account names."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "network_id" {
  type        = string
  description = "VPC peered through private services access (the private pool reaches Cloud SQL's private IP through it)."
}

variable "migrations_dir" {
  type        = string
  description = "Path of migrations/: any change to its files re-runs the migration build."
}

variable "source_bucket" {
  type        = string
  description = "Bucket of the functions' source archive (the archive holds functions/ and migrations/)."
}

variable "source_object" {
  type        = string
  description = "Object name of the source archive the build runs `python -m platform_events migrate` from."
}

variable "database_url_secret_ids" {
  type        = map(string)
  description = "Secret id of the DATABASE_URL of each database user: owner (runs the migrations), app, ingest, pipeline, analyst."
  validation {
    condition     = length(setsubtract(["owner", "app", "ingest", "pipeline", "analyst"], keys(var.database_url_secret_ids))) == 0
    error_message = "database_url_secret_ids must hold the owner, app, ingest, pipeline and analyst users (cloudbuild.yaml reads all five)."
  }
}

variable "database_url_versions" {
  type        = map(string)
  description = "Resource name of the current secret version of each DATABASE_URL (never its value): a new password re-runs the build."
  default     = {}
}

variable "user_group_roles" {
  type        = map(string)
  description = "Login user key => group role of migrations/0006 it is created with (owner: none)."
  validation {
    condition     = alltrue([for role in values(var.user_group_roles) : can(regex("^platform_events_[a-z]+$", role))])
    error_message = "user_group_roles must map to the platform_events_* group roles of migrations/0006."
  }
}

variable "machine_type" {
  type        = string
  description = "Machine type of the private pool's workers."
  default     = "e2-medium"
}

variable "run_migrations" {
  type        = bool
  description = "Run the migration build during apply (needs gcloud on the machine running Terraform)."
  default     = true
}
