variable "project_id" {
  type        = string
  description = "GCP project of the functions, their bucket, service accounts and secrets."
}

variable "region" {
  type        = string
  description = "Region of the functions and of the source bucket."
}

variable "name" {
  type        = string
  description = "Prefix of every resource name (functions are <name>-<key>, service accounts too)."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars, so <name>-<key> fits a 30-char service account id)."
  }
}

variable "functions" {
  type = map(object({
    entry_point        = string
    memory             = string
    timeout_seconds    = number
    max_instances      = number
    min_instances      = optional(number, 0)
    concurrency        = optional(number, 1)
    cpu                = optional(string, "1")
    database_user      = string
    database_pool_size = number
    warehouse_access   = optional(bool, false)
    secrets            = optional(list(string), [])
    fanout             = optional(number, 0)
  }))
  description = "One entry per HTTP entry point of functions/main.py: key (short name, at most 9 chars) => entry point, memory, vCPUs, timeout, instances, which database user it connects as (owner: the password user, migrate_database only; ingest or pipeline: the function's own IAM database login) and the connection pool size of each instance (DATABASE_POOL_SIZE), whether it writes to the warehouse, which of the module's secrets (write_keys, erasure_key, login_passwords) it reads, and fanout: how many invocations of it may run in parallel by authenticated self-invocation (STREAM_FANOUT_URL, STREAM_MAX_PARALLEL; 0: none)."
  validation {
    condition     = alltrue([for key, fn in var.functions : can(regex("^[a-z][a-z0-9]{1,8}$", key))])
    error_message = "function keys must be 2-9 lower-case letters and digits (they end names and service account ids)."
  }
  validation {
    condition     = alltrue([for fn in var.functions : fn.timeout_seconds >= 1 && fn.timeout_seconds <= 3600])
    error_message = "timeout_seconds must be between 1 and 3600 (HTTP functions of gen2)."
  }
  validation {
    condition     = alltrue([for fn in var.functions : fn.max_instances >= 1 && fn.min_instances >= 0 && fn.min_instances <= fn.max_instances])
    error_message = "max_instances must be at least 1 and min_instances between 0 and max_instances."
  }
  # Cloud Run's vCPU and memory table (https://cloud.google.com/run/docs/configuring/services/cpu):
  # 1 vCPU takes 128 MiB to 4 GiB, 2 vCPU up to 8 GiB, 4 vCPU 2 to 16 GiB, 6 vCPU 4 to 24 GiB,
  # 8 vCPU 4 to 32 GiB; above 1 only these integers. Gen2 functions need at least 512 MiB.
  validation {
    condition     = alltrue([for fn in var.functions : contains(["1", "2", "4", "6", "8"], fn.cpu) && can(regex("^[0-9]+(Mi|Gi)$", fn.memory))])
    error_message = "cpu must be 1, 2, 4, 6 or 8 and memory a size in Mi or Gi."
  }
  validation {
    condition = alltrue([
      for fn in var.functions : (
        try(tonumber(regex("^[0-9]+", fn.memory)), 0) * (endswith(fn.memory, "Gi") ? 1024 : 1) >= max(512, lookup({ "4" = 2048, "6" = 4096, "8" = 4096 }, fn.cpu, 0))
        && try(tonumber(regex("^[0-9]+", fn.memory)), 0) * (endswith(fn.memory, "Gi") ? 1024 : 1) <= lookup({ "1" = 4096, "2" = 8192, "4" = 16384, "6" = 24576, "8" = 32768 }, fn.cpu, 0)
      )
    ])
    error_message = "memory must fit the vCPUs (Cloud Run): 1 vCPU 512Mi-4Gi, 2 vCPU 512Mi-8Gi, 4 vCPU 2Gi-16Gi, 6 vCPU 4Gi-24Gi, 8 vCPU 4Gi-32Gi."
  }
  validation {
    condition     = alltrue([for fn in var.functions : fn.database_pool_size >= 1 && fn.database_pool_size <= 100])
    error_message = "database_pool_size must be between 1 and 100 connections per instance."
  }
  validation {
    condition     = alltrue([for fn in var.functions : fn.fanout == 0 || (fn.fanout >= 1 && fn.max_instances >= fn.fanout)])
    error_message = "fanout must be 0, or at most max_instances: each parallel invocation needs its own instance (concurrency 1)."
  }
  validation {
    condition     = alltrue([for fn in var.functions : contains(["owner", "ingest", "pipeline"], fn.database_user)])
    error_message = "database_user must be owner (password, migrate_database only), ingest or pipeline (IAM login of the function's service account)."
  }
  validation {
    condition     = alltrue(flatten([for fn in var.functions : [for s in fn.secrets : contains(["write_keys", "erasure_key", "login_passwords"], s)]]))
    error_message = "secrets may only name write_keys, erasure_key and login_passwords."
  }
}

variable "database_connection_budget" {
  type        = number
  description = "Connections the functions' pools may hold together: the database's max_connections minus a reserve. The functions are refused (precondition) when the sum of max_instances x database_pool_size exceeds it."
  validation {
    condition     = var.database_connection_budget >= 1
    error_message = "database_connection_budget must be at least 1 (max_connections above the reserve)."
  }
}

variable "source_dir" {
  type        = string
  description = "The functions/ folder (main.py, requirements.txt, platform_events/), archived as the functions' source."
}

variable "migrations_dir" {
  type        = string
  description = "The migrations/ folder, archived as migrations/ inside the source so `platform-events migrate` finds it when deployed."
}

variable "runtime" {
  type        = string
  description = "Cloud Functions runtime."
  default     = "python312"
  validation {
    condition     = can(regex("^python3(1[1-9])$", var.runtime))
    error_message = "runtime must be python311 or later (the package requires Python 3.11+)."
  }
}

variable "vpc_connector_id" {
  type        = string
  description = "Serverless VPC Access connector the functions reach Cloud SQL's private IP through."
}

variable "database_url_secret_ids" {
  type        = map(string)
  description = "Secret Manager secret id of the DATABASE_URL of each password user (owner, app, analyst); only functions whose database_user is owner mount one."
  validation {
    condition     = contains(keys(var.database_url_secret_ids), "owner")
    error_message = "database_url_secret_ids must hold the owner (migrate_database)."
  }
}

variable "iam_database_url" {
  type        = string
  description = "DATABASE_URL of the functions that log in with IAM: host and database, no user or password."
  validation {
    condition     = !strcontains(var.iam_database_url, "@")
    error_message = "iam_database_url must hold no user or password (the functions log in with IAM tokens)."
  }
}

variable "login_passwords_secret_id" {
  type        = string
  description = "Secret id of LOGIN_PASSWORDS (the password logins' passwords), mounted on functions that list login_passwords in secrets (migrate_database)."
}

variable "environment" {
  type        = map(string)
  description = "Plain (non-secret) environment variables of every function: WAREHOUSE, BIGQUERY_*, REDSHIFT_*, STREAM_*, MAX_RETRIES, SCHEDULER_*."
  validation {
    condition     = length(setintersection(keys(var.environment), ["DATABASE_URL", "INGEST_WRITE_KEYS", "ERASURE_AUDIT_KEY", "AWS_SECRET_ACCESS_KEY"])) == 0
    error_message = "secrets must not be plain environment variables: they come from Secret Manager."
  }
}

variable "bigquery_dataset" {
  type = object({
    project_id = string
    dataset_id = string
  })
  description = "The warehouse dataset: functions with warehouse_access get BigQuery dataEditor on it only (and jobUser on the project). null when the warehouse is not BigQuery."
  default     = null
}

variable "ingest_write_keys" {
  type        = list(string)
  description = "Segment write keys ingest_events accepts (INGEST_WRITE_KEYS). Empty: one random key is generated; read it from Secret Manager."
  default     = []
  sensitive   = true
}

variable "invoker_members" {
  type        = map(list(string))
  description = "Function key => IAM principals (user:, group:, serviceAccount:) granted roles/run.invoker, e.g. operators on reprocess or an API gateway's service account on ingest. Public principals are refused."
  default     = {}
  validation {
    condition = alltrue(flatten([for members in values(var.invoker_members) : [
      for m in members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):", m))
    ]]))
    error_message = "invoker members must be user:, group:, serviceAccount:, domain:, principal: or principalSet: principals; allUsers and allAuthenticatedUsers are never allowed."
  }
}

variable "kms_key_name" {
  type        = string
  description = "Cloud KMS key in var.region for customer-managed encryption of the source bucket, the image repository and the functions; the module grants the service agents use of it. null keeps Google-managed keys."
  default     = null
}

variable "iam_propagation_seconds" {
  type        = number
  description = "Seconds the functions (and the CMEK-encrypted bucket and repository) wait after the grants they use: IAM changes take about two minutes to apply."
  default     = 120
  validation {
    condition     = var.iam_propagation_seconds >= 0 && var.iam_propagation_seconds <= 900
    error_message = "iam_propagation_seconds must be between 0 and 900."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Keep the source bucket's objects on destroy (false lets terraform destroy empty it)."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every resource of the module that supports them."
  default     = {}
}
