# platform-events: the root module. `terraform apply` here provisions the whole pipeline on GCP
# (and, with warehouse = "redshift", the Redshift Serverless side on AWS). Modules live in infra/;
# infra/README.md is the deploy guide.

terraform {
  required_version = ">= 1.5"
  # Exact releases: tests/unit/test_terraform_schema.py checks every block, argument and reference
  # against these releases' schemas (tests/terraform/providers.py names the package of each).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "6.50.0"
    }
    # google_project_service_identity (service agents for CMEK) is in the beta provider only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "6.50.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "2.7.1"
    }
    aws = {
      source  = "hashicorp/aws"
      version = "6.25.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

# Only used when warehouse = "redshift". The provider is configured even when no AWS resource is
# planned, and then fails without credentials (hashicorp/terraform-provider-aws#38039): with
# BigQuery it gets inert placeholders and never calls AWS.
provider "aws" {
  region                      = var.aws_region
  access_key                  = var.warehouse == "redshift" ? null : "unused-warehouse-is-bigquery"
  secret_key                  = var.warehouse == "redshift" ? null : "unused-warehouse-is-bigquery"
  skip_credentials_validation = var.warehouse != "redshift"
  skip_requesting_account_id  = var.warehouse != "redshift"
  skip_metadata_api_check     = var.warehouse != "redshift"
  default_tags {
    tags = local.labels
  }
}

# --- Variables ---------------------------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "GCP project everything is created in."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id (6-30 lower-case letters, digits, dashes)."
  }
}

variable "region" {
  type        = string
  description = "GCP region of Cloud SQL, the functions, the connector and the scheduler jobs."
  default     = "us-central1"
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as us-central1 or europe-west1."
  }
}

variable "name" {
  type        = string
  description = "Prefix of every resource name; scheduler jobs are <name>-stream and so on."
  default     = "platform-events"
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (at most 20 chars)."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment, recorded in the labels."
  default     = "production"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.environment))
    error_message = "environment must be a lower-case label value."
  }
}

variable "labels" {
  type        = map(string)
  description = "Extra labels applied to every resource (added to app, component and environment)."
  default     = {}
}

variable "warehouse" {
  type        = string
  description = "Warehouse the stream function delivers to (WAREHOUSE): bigquery, or redshift (Redshift Serverless on AWS)."
  default     = "bigquery"
  validation {
    condition     = contains(["bigquery", "redshift"], var.warehouse)
    error_message = "warehouse must be bigquery or redshift (duckdb is the local warehouse only)."
  }
}

variable "bigquery_location" {
  type        = string
  description = "Location of the BigQuery dataset (BIGQUERY_LOCATION)."
  default     = "US"
}

variable "bigquery_dataset_id" {
  type        = string
  description = "BigQuery dataset id (BIGQUERY_DATASET_ID)."
  default     = "platform_events"
  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1023}$", var.bigquery_dataset_id))
    error_message = "bigquery_dataset_id must be letters, digits and underscores."
  }
}

variable "database_version" {
  type        = string
  description = "Cloud SQL PostgreSQL version (the migrations are tested on 15 and 16)."
  default     = "POSTGRES_16"
  validation {
    condition     = contains(["POSTGRES_15", "POSTGRES_16"], var.database_version)
    error_message = "database_version must be POSTGRES_15 or POSTGRES_16."
  }
}

variable "database_tier" {
  type        = string
  description = "Cloud SQL machine tier."
  default     = "db-custom-2-7680"
}

variable "database_availability_type" {
  type        = string
  description = "REGIONAL (high availability) or ZONAL."
  default     = "REGIONAL"
  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.database_availability_type)
    error_message = "database_availability_type must be ZONAL or REGIONAL."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect Cloud SQL, the BigQuery tables and the buckets from deletion. Set false (and apply) before terraform destroy."
  default     = true
}

variable "kms_key_name" {
  type        = string
  description = "Optional Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) in var.region for customer-managed encryption of the source bucket, images and functions; the service agents are granted its use. null keeps Google-managed keys."
  default     = null
  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name must be a full Cloud KMS crypto key name."
  }
}

variable "bigquery_kms_key_name" {
  type        = string
  description = "Optional Cloud KMS key in the BigQuery dataset's location (us for US, eu for EU, else the region) for customer-managed encryption of the dataset; BigQuery's service agent is granted its use. null keeps Google-managed keys."
  default     = null
  validation {
    condition     = var.bigquery_kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.bigquery_kms_key_name))
    error_message = "bigquery_kms_key_name must be a full Cloud KMS crypto key name."
  }
}

variable "time_zone" {
  type        = string
  description = "IANA time zone the Cloud Scheduler cron schedules are read in."
  default     = "Etc/UTC"
  validation {
    condition     = can(regex("^[A-Za-z_]+(/[-+A-Za-z0-9_]+)*$", var.time_zone))
    error_message = "time_zone must be an IANA time zone name such as Etc/UTC or Europe/Paris."
  }
}

variable "stream_batch_size" {
  type        = number
  description = "Events per claimed batch (STREAM_BATCH_SIZE)."
  default     = 1000
  validation {
    condition     = var.stream_batch_size >= 1 && var.stream_batch_size <= 50000
    error_message = "stream_batch_size must be between 1 and 50000."
  }
}

variable "stream_max_seconds" {
  type        = number
  description = "Time budget of one stream invocation (STREAM_MAX_SECONDS); below the one-minute schedule so runs do not pile up."
  default     = 50
  validation {
    condition     = var.stream_max_seconds > 0 && var.stream_max_seconds <= 240
    error_message = "stream_max_seconds must be between 0 and 240 (the stream function's timeout is 300 s)."
  }
}

variable "stream_max_parallel" {
  type        = number
  description = "Stream invocations that may run in parallel when one cannot drain the backlog in its budget: the stream function fans out by invoking itself (STREAM_MAX_PARALLEL); also its max_instances."
  default     = 4
  validation {
    condition     = var.stream_max_parallel >= 1 && var.stream_max_parallel <= 20 && floor(var.stream_max_parallel) == var.stream_max_parallel
    error_message = "stream_max_parallel must be a whole number between 1 and 20."
  }
}

variable "database_max_connections" {
  type        = number
  description = "Cloud SQL max_connections flag: the functions' pools (max_instances x database_pool_size, summed) plus database_reserved_connections must fit in it."
  default     = 200
  validation {
    condition     = var.database_max_connections >= 50 && var.database_max_connections <= 5000
    error_message = "database_max_connections must be between 50 and 5000."
  }
}

variable "database_reserved_connections" {
  type        = number
  description = "Connections kept out of the functions' budget: PostgreSQL's superuser_reserved_connections, Cloud SQL's own maintenance connections, the migration owner, analysts, an operator's psql, and the old revision's instances still draining during a deploy."
  default     = 25
  validation {
    condition     = var.database_reserved_connections >= 10
    error_message = "database_reserved_connections must be at least 10."
  }
}

variable "database_pool_sizes" {
  type        = map(number)
  description = "Function key => connections in each instance's pool (DATABASE_POOL_SIZE), overriding the sizes set in terraform.tf (ingest 5, stream 4, others 2). Terraform refuses a plan whose sum of max_instances x pool size exceeds database_max_connections - database_reserved_connections."
  default     = {}
  validation {
    condition     = alltrue([for size in values(var.database_pool_sizes) : size >= 1 && size <= 100])
    error_message = "database_pool_sizes must be between 1 and 100 connections per instance."
  }
}

variable "max_retries" {
  type        = number
  description = "Delivery attempts before an event is failed (MAX_RETRIES)."
  default     = 3
  validation {
    condition     = var.max_retries >= 1 && var.max_retries <= 100
    error_message = "max_retries must be between 1 and 100."
  }
}

variable "ingest_write_keys" {
  type        = list(string)
  description = "Segment write keys ingest_events accepts; empty generates one (read it from the secret named by the write_keys_secret_id output)."
  default     = []
  sensitive   = true
  validation {
    condition     = alltrue([for k in var.ingest_write_keys : length(k) >= 16 && !strcontains(k, ",")])
    error_message = "write keys must be at least 16 characters and contain no comma."
  }
}

variable "ingest_invoker_members" {
  type        = list(string)
  description = "Principals allowed to call ingest_events (roles/run.invoker), e.g. the service account of the API Gateway or proxy in front of it. Never public: the write key is a second factor, not the only one."
  default     = []
  validation {
    condition     = alltrue([for m in var.ingest_invoker_members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):", m))])
    error_message = "ingest_invoker_members must be user:, group:, serviceAccount:, domain:, principal: or principalSet: principals (allUsers and allAuthenticatedUsers are refused)."
  }
}

variable "operator_members" {
  type        = list(string)
  description = "Principals allowed to call the on-demand functions reprocess_events, erase_user and pipeline_status."
  default     = []
  validation {
    condition     = alltrue([for m in var.operator_members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):", m))])
    error_message = "operator_members must be user:, group:, serviceAccount:, domain:, principal: or principalSet: principals (allUsers and allAuthenticatedUsers are refused)."
  }
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channel ids (projects/P/notificationChannels/N) the alerts notify."
  default     = []
  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "notification_channels must be ids of the form projects/P/notificationChannels/N."
  }
}

variable "run_migrations" {
  type        = bool
  description = "Apply migrations/ during terraform apply (a Cloud Run job calling migrate_database; nothing but Terraform needed)."
  default     = true
}

variable "aws_region" {
  type        = string
  description = "AWS region of Redshift Serverless and the staging bucket (warehouse = redshift)."
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region such as us-east-1."
  }
}

variable "redshift_base_capacity" {
  type        = number
  description = "Base RPUs of the Redshift Serverless workgroup (warehouse = redshift)."
  default     = 8
}

variable "redshift_subnet_ids" {
  type        = list(string)
  description = "Subnets of the Redshift workgroup; empty uses the default VPC's."
  default     = []
}

# --- Locals --------------------------------------------------------------------------------------

locals {
  labels = merge(var.labels, {
    app         = "platform-events"
    environment = var.environment
    managed-by  = "terraform"
  })

  services = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    # Terraform reads and sets project IAM policies through the Resource Manager API.
    "cloudresourcemanager.googleapis.com",
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

  # The functions and their schedules, from the job registry (functions/platform_events/registry.py
  # writes infra/jobs.json; tests/unit/test_registry.py fails when the file is stale). A fan-out
  # function (the stream) runs up to var.stream_max_parallel instances, invoking itself.
  jobs = jsondecode(file("${path.root}/infra/jobs.json"))
  function_defaults = {
    for key, fn in local.jobs.functions : key => merge(fn, {
      max_instances = fn.fanout ? var.stream_max_parallel : fn.max_instances
      fanout        = fn.fanout ? var.stream_max_parallel : 0
    })
  }
  # Who may call a function besides the scheduler: the registry names the list (invokers).
  invoker_lists = {
    ingest    = var.ingest_invoker_members
    operators = var.operator_members
  }
  invoker_members = {
    for key, fn in local.jobs.functions : key => local.invoker_lists[fn.invokers]
    if try(fn.invokers, null) != null
  }
  functions = {
    for key, fn in local.function_defaults : key => merge(fn, {
      database_pool_size = lookup(var.database_pool_sizes, key, fn.database_pool_size)
    })
  }

  # The seed's four schedules, plus the erasure queue and the status probe the backlog-age and
  # failed-events alerts read (platform_events.scheduler.SCHEDULES runs the same ones locally).
  schedules = local.jobs.schedules

  scheduler_job_prefix = "${var.name}-"

  bigquery = var.warehouse == "bigquery"
  redshift = one(module.redshift[*])

  environment = merge(
    {
      WAREHOUSE            = var.warehouse
      STREAM_BATCH_SIZE    = tostring(var.stream_batch_size)
      STREAM_MAX_SECONDS   = tostring(var.stream_max_seconds)
      MAX_RETRIES          = tostring(var.max_retries)
      SCHEDULER_PROJECT_ID = var.project_id
      SCHEDULER_LOCATION   = var.region
      SCHEDULER_JOB_PREFIX = local.scheduler_job_prefix
    },
    local.bigquery ? {
      BIGQUERY_PROJECT_ID = var.project_id
      BIGQUERY_DATASET_ID = one(module.warehouse[*].dataset_id)
      BIGQUERY_TABLE      = one(module.warehouse[*].events_table_id)
      BIGQUERY_LOCATION   = one(module.warehouse[*].location)
    } : {},
    local.redshift == null ? {} : {
      REDSHIFT_WORKGROUP    = local.redshift.workgroup_name
      REDSHIFT_DATABASE     = local.redshift.database_name
      REDSHIFT_SCHEMA       = local.redshift.schema_name
      REDSHIFT_AWS_ROLE_ARN = local.redshift.pipeline_role_arn
      REDSHIFT_AWS_AUDIENCE = local.redshift.web_identity_audience
      REDSHIFT_S3_BUCKET    = local.redshift.s3_bucket
      REDSHIFT_S3_PREFIX    = local.redshift.s3_prefix
      REDSHIFT_IAM_ROLE_ARN = local.redshift.copy_role_arn
      AWS_REGION            = local.redshift.region
    },
  )
}

# --- APIs ----------------------------------------------------------------------------------------

resource "google_project_service" "this" {
  for_each           = local.services
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# --- Modules -------------------------------------------------------------------------------------

module "network" {
  source     = "./infra/network"
  project_id = var.project_id
  region     = var.region
  name       = var.name
  labels     = local.labels
  # Redshift's COPY reaches S3 through its VPC (enhanced VPC routing): a gateway endpoint there.
  aws_s3_endpoint = var.warehouse == "redshift"
  aws_subnet_ids  = var.redshift_subnet_ids
  depends_on      = [google_project_service.this]
}

module "database" {
  source              = "./infra/database"
  project_id          = var.project_id
  region              = var.region
  name                = var.name
  network_id          = module.network.network_id
  database_version    = var.database_version
  tier                = var.database_tier
  max_connections     = var.database_max_connections
  availability_type   = var.database_availability_type
  deletion_protection = var.deletion_protection
  labels              = local.labels
  # Cloud SQL takes its private IP from the private services access range.
  depends_on = [module.network]
}

module "warehouse" {
  source                   = "./infra/warehouse"
  count                    = local.bigquery ? 1 : 0
  project_id               = var.project_id
  location                 = var.bigquery_location
  dataset_id               = var.bigquery_dataset_id
  events_schema_path       = "${path.root}/functions/platform_events/sinks/schema/events.json"
  aggregations_schema_path = "${path.root}/functions/platform_events/sinks/schema/event_aggregations.json"
  kms_key_name             = var.bigquery_kms_key_name
  deletion_protection      = var.deletion_protection
  labels                   = local.labels
  depends_on               = [google_project_service.this]
}

module "redshift" {
  source = "./infra/redshift"
  count  = var.warehouse == "redshift" ? 1 : 0
  name   = var.name
  # The AWS role trusts the warehouse functions' Google service accounts only (web identity).
  google_service_account_ids = [
    for key, fn in local.functions : module.functions.service_account_unique_ids[key] if try(fn.warehouse_access, false)
  ]
  base_capacity       = var.redshift_base_capacity
  subnet_ids          = var.redshift_subnet_ids
  deletion_protection = var.deletion_protection
  tags                = local.labels
  depends_on          = [google_project_service.this]
}

module "functions" {
  source     = "./infra/functions"
  project_id = var.project_id
  region     = var.region
  name       = var.name
  functions  = local.functions
  # What the pools may hold together; the module refuses a plan that exceeds it.
  database_connection_budget = var.database_max_connections - var.database_reserved_connections
  source_dir                 = "${path.root}/functions"
  migrations_dir             = "${path.root}/migrations"
  vpc_connector_id           = module.network.vpc_connector_id
  database_url_secret_ids    = module.database.database_url_secret_ids
  iam_database_url           = module.database.iam_database_url
  login_passwords_secret_id  = module.database.login_passwords_secret_id
  environment                = local.environment
  bigquery_dataset = local.bigquery ? {
    project_id = var.project_id
    dataset_id = one(module.warehouse[*].dataset_id)
  } : null
  ingest_write_keys   = var.ingest_write_keys
  invoker_members     = local.invoker_members
  kms_key_name        = var.kms_key_name
  deletion_protection = var.deletion_protection
  labels              = local.labels
  depends_on          = [google_project_service.this]
}

# The migration step: a Cloud Run job started by its own update calls migrate_database, which
# migrates as the owner and grants each login user (the functions' IAM users among them) its
# group role; a failure fails the apply (infra/migrations/main.tf says why this way).
module "migrations" {
  source            = "./infra/migrations"
  project_id        = var.project_id
  region            = var.region
  name              = var.name
  migrations_dir    = "${path.root}/migrations"
  source_generation = module.functions.source_generation
  migrate_url       = module.functions.functions["migrate"].url
  migrate_service   = module.functions.functions["migrate"].service
  instance_name     = module.database.instance_name
  logins            = module.database.logins
  iam_logins = {
    for key, fn in local.functions : key => {
      email = module.functions.service_accounts[key]
      role  = "platform_events_${fn.database_user}"
    } if fn.database_user != "owner"
  }
  password_versions = module.database.password_versions
  run_migrations    = var.run_migrations
  labels            = local.labels
  depends_on        = [google_project_service.this]
}

module "scheduler" {
  source     = "./infra/scheduler"
  project_id = var.project_id
  region     = var.region
  name       = var.name
  job_prefix = local.scheduler_job_prefix
  time_zone  = var.time_zone
  schedules  = local.schedules
  functions = {
    for key, fn in module.functions.functions : key => { url = fn.url, service = fn.service }
  }
  # Jobs start once the schema is migrated.
  depends_on = [module.migrations]
}

module "monitoring" {
  source     = "./infra/monitoring"
  project_id = var.project_id
  name       = var.name
  # Names, not the functions: the metrics (and their wait, see infra/monitoring) need not wait
  # for the functions to be built.
  service_names         = values(module.functions.service_names)
  notification_channels = var.notification_channels
  labels                = local.labels
  depends_on            = [google_project_service.this]
}

# --- Outputs (no secret value is ever an output) -------------------------------------------------

output "function_urls" {
  description = "Function key => HTTPS URL (callers need roles/run.invoker and an identity token)."
  value       = { for key, fn in module.functions.functions : key => fn.url }
}

output "function_service_accounts" {
  description = "Function key => runtime service account email."
  value       = module.functions.service_accounts
}

output "ingest_url" {
  description = "URL of ingest_events: point Segment-compatible SDKs (through your gateway) at <url>/v1/batch."
  value       = module.functions.functions["ingest"].url
}

output "write_keys_secret_id" {
  description = "Secret Manager secret holding INGEST_WRITE_KEYS (gcloud secrets versions access latest --secret=<id>)."
  value       = module.functions.write_keys_secret_id
}

output "functions_source" {
  description = "gs:// URL of the deployed source archive, with its generation."
  value       = "gs://${module.functions.source_bucket}/${module.functions.source_object}#${module.functions.source_generation}"
}

output "migrations" {
  description = "The migration step: its Cloud Run job, the digest it last ran for and its service account."
  value = {
    job_name              = module.migrations.job_name
    execution_token       = module.migrations.execution_token
    service_account_email = module.migrations.service_account_email
  }
}

output "scheduler_job_ids" {
  description = "Schedule key => Cloud Scheduler job id."
  value       = module.scheduler.job_ids
}

output "scheduler_invoker_email" {
  description = "Service account the scheduler jobs call the functions as."
  value       = module.scheduler.invoker_email
}

output "database" {
  description = "Cloud SQL instance, connection name, private IP, database and login users (passwords are in Secret Manager only)."
  value = {
    instance        = module.database.instance_name
    connection_name = module.database.connection_name
    private_ip      = module.database.private_ip
    database        = module.database.database_name
    users           = module.database.user_names
    logins          = module.database.logins
    url_secret_ids  = module.database.database_url_secret_ids
    url_secret_name = module.database.database_url_secret_names
    login_passwords = module.database.login_passwords_secret_id
    iam_url         = module.database.iam_database_url
  }
}

output "network" {
  description = "VPC and VPC connector ids, and the S3 gateway endpoint of the Redshift VPC (warehouse = redshift)."
  value = {
    network_id                  = module.network.network_id
    network_name                = module.network.network_name
    vpc_connector_id            = module.network.vpc_connector_id
    private_services_connection = module.network.private_services_connection
    aws_s3_endpoint_id          = module.network.aws_s3_endpoint_id
  }
}

output "bigquery" {
  description = "BigQuery dataset and tables (null unless warehouse = bigquery)."
  value = local.bigquery ? {
    dataset_id          = one(module.warehouse[*].dataset_id)
    dataset_resource_id = one(module.warehouse[*].dataset_resource_id)
    location            = one(module.warehouse[*].location)
    events_table        = one(module.warehouse[*].events_table_id)
    aggregations_table  = one(module.warehouse[*].aggregations_table_id)
  } : null
}

output "redshift" {
  description = "Redshift Serverless workgroup, database, schema, staging bucket, COPY role and the functions' AWS role (null unless warehouse = redshift)."
  value = local.redshift == null ? null : {
    workgroup     = local.redshift.workgroup_name
    database      = local.redshift.database_name
    schema        = local.redshift.schema_name
    role_arn      = local.redshift.pipeline_role_arn
    s3_bucket     = local.redshift.s3_bucket
    s3_prefix     = local.redshift.s3_prefix
    copy_role_arn = local.redshift.copy_role_arn
    region        = local.redshift.region
  }
}

output "monitoring" {
  description = "Log-based metric types and alert policy ids."
  value = {
    metric_types     = module.monitoring.metric_types
    alert_policy_ids = module.monitoring.alert_policy_ids
  }
}

# --- Analytics: the dbt models of analytics/, built hourly by a Cloud Run job (infra/models) ---

variable "models_image" {
  type        = string
  description = "Image of analytics/Dockerfile (gcloud builds submit analytics --tag ...); empty: the models are not deployed."
  default     = ""
}

module "models" {
  source              = "./infra/models"
  count               = local.bigquery && var.models_image != "" ? 1 : 0
  project_id          = var.project_id
  region              = var.region
  name                = var.name
  location            = var.bigquery_location
  events_dataset_id   = module.warehouse[0].dataset_id
  events_table_id     = module.warehouse[0].events_table_id
  image               = var.models_image
  time_zone           = var.time_zone
  kms_key_name        = var.kms_key_name
  deletion_protection = var.deletion_protection
  labels              = local.labels
  depends_on          = [google_project_service.this]
}
