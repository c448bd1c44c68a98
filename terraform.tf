# platform-events: the root module. `terraform apply` here provisions the whole pipeline on GCP
# (network, Cloud SQL, BigQuery, Cloud Functions, Cloud Scheduler, monitoring, migrations) and,
# with warehouse = "redshift", the Redshift Serverless warehouse on AWS. See infra/README.md.

terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4"
    }
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
}

# ---------------------------------------------------------------- variables

variable "project_id" {
  type        = string
  description = "GCP project everything is created in."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id."
  }
}

variable "region" {
  type        = string
  description = "GCP region of Cloud SQL, the functions, the scheduler and the network."
  default     = "us-central1"
}

variable "name" {
  type        = string
  description = "Prefix of resource names (lower-case, at most 20 chars)."
  default     = "platform-events"
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment, carried as a label."
  default     = "production"
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,30}$", var.environment))
    error_message = "environment must be a lower-case label value."
  }
}

variable "labels" {
  type        = map(string)
  description = "Extra labels on every resource (merged with app and environment)."
  default     = {}
}

variable "warehouse" {
  type        = string
  description = "Warehouse the stream job writes to: bigquery (created here) or redshift (Redshift Serverless on AWS, module infra/redshift)."
  default     = "bigquery"
  validation {
    condition     = contains(["bigquery", "redshift"], var.warehouse)
    error_message = "warehouse must be bigquery or redshift (duckdb is the local default, not a deployment)."
  }
}

variable "bigquery_location" {
  type        = string
  description = "Location of the BigQuery dataset."
  default     = "US"
}

variable "bigquery_dataset_id" {
  type        = string
  description = "BigQuery dataset id."
  default     = "platform_events"
}

variable "database_version" {
  type        = string
  description = "Cloud SQL PostgreSQL version (POSTGRES_15 or POSTGRES_16)."
  default     = "POSTGRES_16"
}

variable "database_tier" {
  type        = string
  description = "Cloud SQL machine tier."
  default     = "db-custom-2-7680"
}

variable "database_availability_type" {
  type        = string
  description = "ZONAL or REGIONAL Cloud SQL."
  default     = "REGIONAL"
}

variable "deletion_protection" {
  type        = bool
  description = "Protect Cloud SQL and the BigQuery tables from deletion; set false (and apply) before `terraform destroy`."
  default     = true
}

variable "stream_batch_size" {
  type        = number
  description = "STREAM_BATCH_SIZE: events per claimed batch."
  default     = 1000
  validation {
    condition     = var.stream_batch_size >= 1 && var.stream_batch_size <= 50000
    error_message = "stream_batch_size must be between 1 and 50000."
  }
}

variable "stream_max_seconds" {
  type        = number
  description = "STREAM_MAX_SECONDS: time budget of one stream invocation (below the minute between runs)."
  default     = 50
  validation {
    condition     = var.stream_max_seconds > 0 && var.stream_max_seconds <= 540
    error_message = "stream_max_seconds must be between 1 and 540."
  }
}

variable "max_retries" {
  type        = number
  description = "MAX_RETRIES: attempts before an event is failed."
  default     = 3
  validation {
    condition     = var.max_retries >= 1 && var.max_retries <= 100
    error_message = "max_retries must be between 1 and 100."
  }
}

variable "scheduler_time_zone" {
  type        = string
  description = "Time zone of the cron schedules (the seed's schedules are UTC)."
  default     = "Etc/UTC"
}

variable "scheduler_job_prefix" {
  type        = string
  description = "Cloud Scheduler job ids are this prefix plus stream, aggregate, cleanup, retention, erasure, status."
  default     = "platform-events-"
}

variable "ingest_invoker_members" {
  type        = list(string)
  description = "Principals allowed to call ingest_events, e.g. [\"serviceAccount:gateway@P.iam.gserviceaccount.com\"]. No allUsers: put an API gateway in front for public clients."
  default     = []
}

variable "operator_invoker_members" {
  type        = list(string)
  description = "Principals allowed to call reprocess_events, pipeline_status and erase_user on demand, e.g. [\"group:oncall@example.com\"]."
  default     = []
}

variable "notification_channels" {
  type        = list(string)
  description = "Monitoring notification channel ids the alerts are sent to."
  default     = []
}

variable "run_migrations" {
  type        = bool
  description = "Apply migrations/ during apply through the Cloud Build private pool (needs gcloud where Terraform runs)."
  default     = true
}

variable "aws_region" {
  type        = string
  description = "AWS region of the Redshift warehouse (warehouse = redshift)."
  default     = "us-east-1"
}

variable "redshift_subnet_ids" {
  type        = list(string)
  description = "Private AWS subnets (three AZs) of the Redshift Serverless workgroup (warehouse = redshift)."
  default     = []
}

variable "redshift_security_group_ids" {
  type        = list(string)
  description = "Security groups of the Redshift Serverless workgroup (warehouse = redshift)."
  default     = []
}

# ---------------------------------------------------------------- providers

locals {
  labels = merge({ app = "platform-events", environment = var.environment, managed-by = "terraform" }, var.labels)
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

# Configured in every deployment; without warehouse = redshift it creates nothing and skips the
# credential checks, so a GCP-only deployment needs no AWS account.
provider "aws" {
  region                      = var.aws_region
  skip_credentials_validation = var.warehouse != "redshift"
  skip_requesting_account_id  = var.warehouse != "redshift"
  skip_metadata_api_check     = var.warehouse != "redshift"
  default_tags {
    tags = local.labels
  }
}

# ---------------------------------------------------------------- APIs

resource "google_project_service" "required" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
    "vpcaccess.googleapis.com",
  ])
  project            = var.project_id
  service            = each.key
  disable_on_destroy = false
}

# ---------------------------------------------------------------- what runs where

locals {
  # One entry per @functions_framework.http entry point of functions/main.py (checked by
  # tests/unit/test_terraform_structure.py): the role it runs as, memory, timeout, max instances.
  functions = {
    ingest_events          = { role = "ingest", memory = "512Mi", timeout = 60, max_instances = 20, description = "Segment-compatible tracking API (write-key auth) into the event store." }
    stream_platform_events = { role = "pipeline", memory = "1Gi", timeout = 120, max_instances = 3, description = "Deliver pending events to the warehouse (every minute)." }
    aggregate_events       = { role = "pipeline", memory = "512Mi", timeout = 540, max_instances = 1, description = "Hourly aggregations of touched buckets." }
    cleanup_metrics        = { role = "pipeline", memory = "256Mi", timeout = 300, max_instances = 1, description = "Drop expired real-time metrics, create upcoming partitions." }
    apply_retention        = { role = "pipeline", memory = "1Gi", timeout = 3600, max_instances = 1, description = "Daily retention by category in Postgres and the warehouse." }
    reprocess_events       = { role = "pipeline", memory = "512Mi", timeout = 540, max_instances = 1, description = "On demand: requeue failed events or resend a range." }
    erase_user             = { role = "erasure", memory = "512Mi", timeout = 540, max_instances = 1, description = "GDPR erasure of a user, and the queue drain every 15 minutes." }
    pipeline_status        = { role = "pipeline", memory = "256Mi", timeout = 60, max_instances = 2, description = "Backlog, failures and oldest pending age (the status probe feeds the alerts)." }
  }

  # The schedules of functions/platform_events/scheduler.py (SCHEDULES), plus the status probe
  # whose summary line feeds the backlog-age and failed-events metrics.
  schedules = {
    stream    = { schedule = "* * * * *", function = "stream_platform_events", description = "Stream pending events to the warehouse." }
    aggregate = { schedule = "0 * * * *", function = "aggregate_events", description = "Hourly aggregation." }
    cleanup   = { schedule = "*/15 * * * *", function = "cleanup_metrics", description = "Expired metrics and partition upkeep." }
    retention = { schedule = "0 2 * * *", function = "apply_retention", description = "Daily data retention." }
    erasure   = { schedule = "*/15 * * * *", function = "erase_user", description = "Drain the GDPR erasure queue." }
    status    = { schedule = "*/5 * * * *", function = "pipeline_status", description = "Status probe: logs backlog age and failed count for the alerts." }
  }

  redshift = var.warehouse == "redshift" ? module.redshift[0] : null

  function_environment = {
    WAREHOUSE             = var.warehouse
    BIGQUERY_PROJECT_ID   = var.project_id
    BIGQUERY_DATASET_ID   = module.warehouse.dataset_id
    BIGQUERY_TABLE        = module.warehouse.events_table_id
    BIGQUERY_LOCATION     = module.warehouse.location
    REDSHIFT_WORKGROUP    = try(local.redshift.workgroup_name, null)
    REDSHIFT_DATABASE     = try(local.redshift.database_name, null)
    REDSHIFT_SECRET_ARN   = try(local.redshift.secret_arn, null)
    REDSHIFT_S3_BUCKET    = try(local.redshift.staging_bucket, null)
    REDSHIFT_IAM_ROLE_ARN = try(local.redshift.copy_role_arn, null)
    AWS_REGION            = try(local.redshift.region, null)
    STREAM_BATCH_SIZE     = tostring(var.stream_batch_size)
    STREAM_MAX_SECONDS    = tostring(var.stream_max_seconds)
    MAX_RETRIES           = tostring(var.max_retries)
    SCHEDULER_PROJECT_ID  = var.project_id
    SCHEDULER_LOCATION    = var.region
    SCHEDULER_JOB_PREFIX  = var.scheduler_job_prefix
    LOG_LEVEL             = "INFO"
  }
}

# ---------------------------------------------------------------- modules

module "network" {
  source     = "./infra/network"
  project_id = var.project_id
  region     = var.region
  name       = var.name
  labels     = local.labels
  depends_on = [google_project_service.required]
}

module "database" {
  source              = "./infra/database"
  project_id          = var.project_id
  region              = var.region
  name                = var.name
  network_id          = module.network.network_id
  database_version    = var.database_version
  tier                = var.database_tier
  availability_type   = var.database_availability_type
  deletion_protection = var.deletion_protection
  labels              = local.labels
  # Cloud SQL takes its private IP from the private services access range.
  depends_on = [module.network]
}

module "warehouse" {
  source                   = "./infra/warehouse"
  project_id               = var.project_id
  location                 = var.bigquery_location
  dataset_id               = var.bigquery_dataset_id
  events_schema_path       = "${path.root}/functions/platform_events/sinks/schema/events.json"
  aggregations_schema_path = "${path.root}/functions/platform_events/sinks/schema/event_aggregations.json"
  deletion_protection      = var.deletion_protection
  labels                   = local.labels
  depends_on               = [google_project_service.required]
}

module "redshift" {
  source             = "./infra/redshift"
  count              = var.warehouse == "redshift" ? 1 : 0
  name               = var.name
  subnet_ids         = var.redshift_subnet_ids
  security_group_ids = var.redshift_security_group_ids
  tags               = local.labels
}

module "migrations" {
  source                         = "./infra/migrations"
  project_id                     = var.project_id
  region                         = var.region
  name                           = var.name
  network_id                     = module.network.network_id
  migrations_dir                 = "${path.root}/migrations"
  source_bucket                  = module.functions.source_bucket
  source_object                  = module.functions.source_object
  owner_database_url_secret_id   = module.database.database_url_secret_ids["owner"]
  owner_database_url_secret_name = module.database.database_url_secret_names["owner"]
  user_group_roles               = { for key, role in module.database.user_group_roles : module.database.user_names[key] => role }
  run_migrations                 = var.run_migrations
  labels                         = local.labels
}

module "functions" {
  source           = "./infra/functions"
  project_id       = var.project_id
  region           = var.region
  name             = var.name
  functions_dir    = "${path.root}/functions"
  migrations_dir   = "${path.root}/migrations"
  build_dir        = "${path.root}/build"
  functions        = local.functions
  vpc_connector_id = module.network.vpc_connector_id
  dataset_id       = module.warehouse.dataset_id
  environment      = local.function_environment
  database_url_secrets = {
    ingest   = module.database.database_url_secret_ids["ingest"]
    pipeline = module.database.database_url_secret_ids["pipeline"]
    erasure  = module.database.database_url_secret_ids["pipeline"]
  }
  use_aws_credentials      = var.warehouse == "redshift"
  aws_credentials          = try(local.redshift.pipeline_access_key, null)
  ingest_invoker_members   = var.ingest_invoker_members
  operator_invoker_members = var.operator_invoker_members
  migrations_hash          = module.migrations.migrations_hash
  labels                   = local.labels
  depends_on               = [google_project_service.required]
}

module "scheduler" {
  source            = "./infra/scheduler"
  project_id        = var.project_id
  region            = var.region
  name              = var.name
  job_prefix        = var.scheduler_job_prefix
  jobs              = local.schedules
  function_uris     = module.functions.function_uris
  function_services = module.functions.function_services
  time_zone         = var.scheduler_time_zone
  labels            = local.labels
}

module "monitoring" {
  source                = "./infra/monitoring"
  project_id            = var.project_id
  name                  = var.name
  notification_channels = var.notification_channels
  labels                = local.labels
  depends_on            = [google_project_service.required]
}

# ---------------------------------------------------------------- outputs (no secret values)

output "function_uris" {
  description = "HTTPS URI of each function (IAM-authenticated: call with an identity token)."
  value       = module.functions.function_uris
}

output "function_service_accounts" {
  description = "Runtime service account of each role."
  value       = module.functions.service_account_emails
}

output "generated_secret_ids" {
  description = "Secret Manager ids of the ingest write keys and the erasure audit key (read values with gcloud secrets versions access)."
  value       = module.functions.secret_ids
}

output "database_instance" {
  description = "Cloud SQL instance: name, connection name, private IP and database."
  value = {
    name            = module.database.instance_name
    connection_name = module.database.connection_name
    private_ip      = module.database.private_ip
    database        = module.database.database_name
  }
}

output "database_url_secret_ids" {
  description = "Secret id of each database user's DATABASE_URL (values only in Secret Manager)."
  value       = module.database.database_url_secret_ids
}

output "bigquery" {
  description = "BigQuery dataset and tables."
  value = {
    dataset            = module.warehouse.dataset_id
    dataset_resource   = module.warehouse.dataset_resource_id
    events_table       = module.warehouse.events_table_id
    aggregations_table = module.warehouse.aggregations_table_id
  }
}

output "scheduler_jobs" {
  description = "Cloud Scheduler job ids and the invoker service account."
  value = {
    jobs    = module.scheduler.job_names
    invoker = module.scheduler.invoker_service_account_email
  }
}

output "monitoring" {
  description = "Log-based metric types and alert policy ids."
  value = {
    metrics = module.monitoring.metric_types
    alerts  = module.monitoring.alert_policy_ids
  }
}

output "network" {
  description = "VPC, its connector and the private services access connection."
  value = {
    network         = module.network.network_name
    network_id      = module.network.network_id
    connector       = module.network.vpc_connector_id
    private_service = module.network.private_services_connection
  }
}

output "migrations" {
  description = "Migration build: hash of migrations/ last applied, private pool and service account."
  value = {
    hash            = module.migrations.migrations_hash
    worker_pool     = module.migrations.worker_pool_id
    service_account = module.migrations.service_account_email
  }
}

output "redshift" {
  description = "Redshift warehouse settings (warehouse = redshift), null otherwise."
  value = var.warehouse != "redshift" ? null : {
    workgroup     = module.redshift[0].workgroup_name
    database      = module.redshift[0].database_name
    secret_arn    = module.redshift[0].secret_arn
    bucket        = module.redshift[0].staging_bucket
    copy_role_arn = module.redshift[0].copy_role_arn
    region        = module.redshift[0].region
  }
}
