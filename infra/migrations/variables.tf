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

variable "owner_database_url_secret_id" {
  type        = string
  description = "Secret id of the DATABASE_URL of the owner user (owns the schema, runs the migrations)."
}

variable "owner_database_url_secret_name" {
  type        = string
  description = "Full resource name of the owner's DATABASE_URL secret, for the build's secretAccessor binding."
}

variable "user_group_roles" {
  type        = map(string)
  description = "Login user name => group role of migrations/0006 granted to it after migrating."
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

variable "labels" {
  type        = map(string)
  description = "Labels applied to every resource of the module that supports them."
  default     = {}
}
