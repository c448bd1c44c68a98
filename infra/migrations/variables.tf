variable "project_id" {
  type        = string
  description = "GCP project of the migration job."
}

variable "region" {
  type        = string
  description = "Region of the migration job (the functions' region)."
}

variable "name" {
  type        = string
  description = "Prefix of the job and service account names."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "migrations_dir" {
  type        = string
  description = "Path of migrations/: any change to its files runs the migration step again."
}

variable "source_generation" {
  type        = string
  description = "Generation of the functions' source archive (a new one per content): new code, or a new event schema file under functions/, runs the step again, which applies the catalogue."
}

variable "migrate_url" {
  type        = string
  description = "HTTPS URL of the migrate_database function the job calls."
}

variable "migrate_service" {
  type        = string
  description = "Cloud Run service of the migrate_database function (the job's account may invoke it only)."
}

variable "logins" {
  type = list(object({
    user = string
    role = string
    auth = string
  }))
  description = "Login users the step sets up after migrating: name, group role of migrations/0006, and auth (password: created with its LOGIN_PASSWORDS entry; iam: a Cloud SQL IAM service-account user)."
  validation {
    condition     = alltrue([for l in var.logins : can(regex("^platform_events_(app|ingest|pipeline|analyst)$", l.role)) && contains(["password", "iam"], l.auth)])
    error_message = "each login needs a group role of migrations/0006 (platform_events_app, _ingest, _pipeline, _analyst) and auth password or iam."
  }
  validation {
    condition     = alltrue([for l in var.logins : !can(regex("^platform_events_(app|ingest|pipeline|analyst)$", l.user))])
    error_message = "a login user must not be named like a group role of migrations/0006 (GRANT x TO x fails)."
  }
}

variable "instance_name" {
  type        = string
  description = "Cloud SQL instance the IAM database users are created on."
}

variable "iam_logins" {
  type = map(object({
    email = string
    role  = string
  }))
  description = "Function key => its service account's email and the group role of migrations/0006 its IAM database user gets."
  validation {
    condition     = alltrue([for l in values(var.iam_logins) : can(regex("^platform_events_(ingest|pipeline)$", l.role)) && endswith(l.email, ".gserviceaccount.com")])
    error_message = "iam_logins are service accounts (…gserviceaccount.com) with the ingest or pipeline group role."
  }
}

variable "password_versions" {
  type        = map(string)
  description = "Resource names of the current versions of the password secrets (never a value): a new password runs the step again."
  default     = {}
}

variable "image" {
  type        = string
  description = "Container image of the job: any image with sh and curl (the step's work runs in migrate_database)."
  default     = "curlimages/curl:8.11.1"
}

variable "run_migrations" {
  type        = bool
  description = "Run the migration step during apply (false: nothing runs; call migrate_database some other way)."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every resource of the module that supports them."
  default     = {}
}
