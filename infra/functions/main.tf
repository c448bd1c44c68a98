# The Cloud Functions (gen2): one archive of functions/ (plus migrations/), one function per entry
# point of functions/main.py (for_each over var.functions), one service account per function with
# only what that function touches. infra/migrations applies migrations/ from the same archive.
# No function is public: callers need roles/run.invoker (the scheduler's invoker account, and the
# principals of var.invoker_members).

locals {
  # Everything under functions/ except caches, build metadata and hidden files.
  source_files = toset([
    for f in fileset(var.source_dir, "**") : f
    if !can(regex("(^|/)(__pycache__|[^/]*\\.egg-info|\\.[^/]+)(/|$)|\\.pyc$", f))
  ])
  migration_files = fileset(var.migrations_dir, "**/*.sql")

  bigquery = var.bigquery_dataset != null

  # Secret environment variables of each function: its database user's URL and its own secrets.
  # (The Redshift sink needs no AWS secret: it assumes its AWS role with its Google identity.)
  own_secrets = {
    write_keys      = { env = "INGEST_WRITE_KEYS", secret_id = google_secret_manager_secret.write_keys.secret_id }
    erasure_key     = { env = "ERASURE_AUDIT_KEY", secret_id = google_secret_manager_secret.erasure_key.secret_id }
    login_passwords = { env = "LOGIN_PASSWORDS", secret_id = var.login_passwords_secret_id }
  }
  # Functions of the owner (migrate_database) log in with its password; every other one as its own
  # service account with short-lived IAM tokens (platform_events.cloudsql): no password to hold.
  iam_functions = toset([for key, fn in var.functions : key if fn.database_user != "owner"])
  function_secrets = {
    for key, fn in var.functions : key => merge(
      contains(local.iam_functions, key) ? {} : { DATABASE_URL = var.database_url_secret_ids[fn.database_user] },
      { for s in fn.secrets : local.own_secrets[s].env => local.own_secrets[s].secret_id },
    )
  }
  secret_bindings = merge([
    for key, secrets in local.function_secrets : {
      for env, secret_id in secrets : "${key}/${env}" => { function = key, secret_id = secret_id }
    }
  ]...)
  invoker_bindings = merge([
    for key, members in var.invoker_members : {
      for m in members : "${key}/${m}" => { function = key, member = m }
    }
  ]...)
  warehouse_functions = toset([for key, fn in var.functions : key if fn.warehouse_access && local.bigquery])

  environment = merge(var.environment, {
    # Cloud Functions only allow writes under /tmp.
    PLATFORM_EVENTS_HOME = "/tmp/platform-events"
  })

  names = { for key, fn in var.functions : key => "${var.name}-${replace(key, "_", "-")}" }
  # A gen2 function's cloudfunctions.net URL is https://REGION-PROJECT.cloudfunctions.net/NAME,
  # known before it exists, so a function can be given its own URL without a reference cycle; it
  # is also the audience of the identity token a caller sends it
  # (https://cloud.google.com/functions/docs/samples/functions-bearer-token).
  urls             = { for key, name in local.names : key => "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}" }
  fanout_functions = { for key, fn in var.functions : key => fn if fn.fanout > 0 }

  # Per instance each function holds at most database_pool_size connections (DATABASE_POOL_SIZE),
  # so max_instances x pool size, summed, is what the functions can hold at once.
  database_connections = sum([for fn in var.functions : fn.max_instances * fn.database_pool_size])

  # The IAM database user of a service account is its email without ".gserviceaccount.com".
  database_environment = {
    for key in local.iam_functions : key => {
      DATABASE_URL      = var.iam_database_url
      DATABASE_IAM_USER = trimsuffix(google_service_account.function[key].email, ".gserviceaccount.com")
    }
  }

  function_environment = {
    for key, fn in var.functions : key => merge(
      local.environment,
      lookup(local.database_environment, key, {}),
      { DATABASE_POOL_SIZE = tostring(fn.database_pool_size) },
      fn.fanout > 0 ? {
        STREAM_FANOUT_URL   = local.urls[key]
        STREAM_MAX_PARALLEL = tostring(fn.fanout)
      } : {},
    )
  }
}

# --- Source ------------------------------------------------------------------------------------

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.root}/.terraform/tmp/${var.name}-functions-source.zip"

  dynamic "source" {
    for_each = local.source_files
    content {
      filename = source.value
      content  = file("${var.source_dir}/${source.value}")
    }
  }

  # migrations_dir() looks beside platform_events/ when deployed.
  dynamic "source" {
    for_each = local.migration_files
    content {
      filename = "migrations/${source.value}"
      content  = file("${var.migrations_dir}/${source.value}")
    }
  }
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Access logs of a bucket only Cloud Build and Terraform read add nothing; Cloud Audit Logs record data access.
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-functions"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection
  labels                      = var.labels

  versioning {
    enabled = true
  }

  # The archive keeps one name (source/functions.zip): each upload makes a new generation and the
  # previous one noncurrent. Only noncurrent generations expire, so the live archive, which the
  # functions' rebuilds (base image updates) read, is never deleted however long it stays current.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  lifecycle {
    # A Cloud KMS key must be in the location of the resource it encrypts.
    precondition {
      condition     = var.kms_key_name == null || try(lower(split("/", var.kms_key_name)[3]) == lower(var.region), false)
      error_message = "kms_key_name must be a key in the functions' region (${var.region}): a CMEK key must be in its resource's location."
    }
  }

  depends_on = [time_sleep.kms_grants]
}

# One name, a new generation per content (the bucket is versioned): the functions build from the
# generation, so a change of the source redeploys every function.
resource "google_storage_bucket_object" "source" {
  name   = "source/functions.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
  # Upload again when the archive's content changes (the name no longer does).
  source_md5hash = data.archive_file.source.output_md5
}

resource "google_artifact_registry_repository" "functions" {
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name}-functions"
  description   = "Container images Cloud Functions builds from the platform-events source."
  format        = "DOCKER"
  kms_key_name  = var.kms_key_name
  labels        = var.labels
  depends_on    = [time_sleep.kms_grants]

  # Images older than 30 days go, except the 10 most recent of each function.
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
}

# --- Customer-managed encryption (var.kms_key_name) --------------------------------------------
# Functions, their image repository and the source bucket encrypt with the key only if these
# service agents may use it (https://cloud.google.com/functions/docs/securing/cmek): Cloud Run
# functions', Artifact Registry's, Cloud Storage's and Cloud Run's. Agents are created lazily by
# their services, so Terraform asks for them first (google_project_service_identity, beta only).

resource "google_project_service_identity" "agent" {
  provider = google-beta
  for_each = var.kms_key_name == null ? toset([]) : toset(["cloudfunctions.googleapis.com", "artifactregistry.googleapis.com", "run.googleapis.com"])
  project  = var.project_id
  service  = each.key
}

data "google_storage_project_service_account" "this" {
  count   = var.kms_key_name == null ? 0 : 1
  project = var.project_id
}

locals {
  kms_agents = var.kms_key_name == null ? {} : merge(
    { for service, agent in google_project_service_identity.agent : service => agent.member },
    { "storage.googleapis.com" = data.google_storage_project_service_account.this[0].member },
  )
}

resource "google_kms_crypto_key_iam_member" "agent" {
  for_each      = local.kms_agents
  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}

# IAM changes take effect in about two minutes, sometimes up to seven
# (https://cloud.google.com/iam/docs/access-change-propagation): what the grants allow is used
# only after this wait, so the first apply does not race them.
resource "time_sleep" "kms_grants" {
  create_duration = var.kms_key_name == null ? "0s" : "${var.iam_propagation_seconds}s"
  triggers        = { for service, grant in google_kms_crypto_key_iam_member.agent : service => grant.id }
}

# --- Builder ----------------------------------------------------------------------------------

resource "google_service_account" "builder" {
  project      = var.project_id
  account_id   = "${var.name}-builder"
  display_name = "platform-events functions builder"
  description  = "Builds the functions' images: reads the source bucket, writes the image repository and build logs."
}

resource "google_project_iam_member" "builder_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.builder.member
}

resource "google_artifact_registry_repository_iam_member" "builder" {
  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.builder.member
}

resource "google_storage_bucket_iam_member" "builder_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.builder.member
}

# --- Runtime identities ------------------------------------------------------------------------

resource "google_service_account" "function" {
  for_each     = var.functions
  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "platform-events ${each.value.entry_point}"
  description  = "Runtime identity of the ${each.value.entry_point} function only."
}

# IAM database login (cloudsql.instances.login). Not cloudsql.client: the functions reach the
# private IP through the VPC connector, not through the Auth Proxy or a connector.
resource "google_project_iam_member" "cloudsql_instance_user" {
  for_each = local.iam_functions
  project  = var.project_id
  role     = "roles/cloudsql.instanceUser"
  member   = google_service_account.function[each.key].member
}

# Warehouse writers: dataEditor on the dataset only (Storage Write API appends, DML), jobUser on the
# project (erasure, retention and reprocess statements, and the query a takeover asks the table with).
resource "google_bigquery_dataset_iam_member" "warehouse" {
  for_each   = local.warehouse_functions
  project    = var.bigquery_dataset.project_id
  dataset_id = var.bigquery_dataset.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.function[each.key].member
}

resource "google_project_iam_member" "bigquery_jobs" {
  for_each = local.warehouse_functions
  project  = var.bigquery_dataset.project_id
  role     = "roles/bigquery.jobUser"
  member   = google_service_account.function[each.key].member
}

# --- Secrets of the functions ------------------------------------------------------------------

resource "random_password" "write_key" {
  length  = 32
  special = false
}

resource "google_secret_manager_secret" "write_keys" {
  project   = var.project_id
  secret_id = "${var.name}-ingest-write-keys"
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "write_keys" {
  secret      = google_secret_manager_secret.write_keys.id
  secret_data = length(var.ingest_write_keys) > 0 ? join(",", var.ingest_write_keys) : random_password.write_key.result
}

# HMAC key of the erasure audit: stable across instances, so audit rows of one user always match.
resource "random_password" "erasure_key" {
  length  = 64
  special = false
}

resource "google_secret_manager_secret" "erasure_key" {
  project   = var.project_id
  secret_id = "${var.name}-erasure-audit-key"
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "erasure_key" {
  secret      = google_secret_manager_secret.erasure_key.id
  secret_data = random_password.erasure_key.result
}

# Each function reads its own secrets only.
resource "google_secret_manager_secret_iam_member" "function" {
  for_each  = local.secret_bindings
  project   = var.project_id
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function[each.value.function].member
}

# IAM propagation (see time_sleep.kms_grants) of every grant the build and the deploy use.
resource "time_sleep" "grants" {
  create_duration = "${var.iam_propagation_seconds}s"
  triggers = merge(
    # Ids, not etags: an id is stable until the grant itself changes, an etag with any change of
    # the policy it belongs to (a perpetual diff).
    { for key, grant in google_secret_manager_secret_iam_member.function : "secret/${key}" => grant.id },
    {
      builder_logs   = google_project_iam_member.builder_logs.id
      builder_images = google_artifact_registry_repository_iam_member.builder.id
      builder_source = google_storage_bucket_iam_member.builder_source.id
      kms            = time_sleep.kms_grants.id
    },
  )
}

# --- Functions ---------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "this" {
  #checkov:skip=CKV_GCP_124:Callers are outside the VPC (Cloud Scheduler, the API gateway of ingest_events, operators' gcloud); every call is authenticated by IAM (run.invoker granted to named principals only, never allUsers).
  for_each     = var.functions
  project      = var.project_id
  location     = var.region
  name         = local.names[each.key]
  description  = "platform-events ${each.value.entry_point} (functions/main.py)."
  kms_key_name = var.kms_key_name
  labels       = merge(var.labels, { "entry-point" = replace(each.value.entry_point, "_", "-") })

  build_config {
    runtime           = var.runtime
    entry_point       = each.value.entry_point
    service_account   = google_service_account.builder.id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket     = google_storage_bucket.source.name
        object     = google_storage_bucket_object.source.name
        generation = google_storage_bucket_object.source.generation
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout_seconds
    max_instance_count               = each.value.max_instances
    min_instance_count               = each.value.min_instances
    max_instance_request_concurrency = each.value.concurrency
    service_account_email            = google_service_account.function[each.key].email
    ingress_settings                 = "ALLOW_ALL" # reachable, but only by IAM-authorised callers
    all_traffic_on_latest_revision   = true
    vpc_connector                    = var.vpc_connector_id
    vpc_connector_egress_settings    = "PRIVATE_RANGES_ONLY"
    environment_variables            = local.function_environment[each.key]

    dynamic "secret_environment_variables" {
      for_each = local.function_secrets[each.key]
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  # The builder's grants and each function's secret grants are used by the build and the deploy:
  # they wait out IAM propagation first (time_sleep.grants).
  depends_on = [
    google_secret_manager_secret_version.write_keys,
    google_secret_manager_secret_version.erasure_key,
    time_sleep.grants,
  ]

  lifecycle {
    # Refuse a configuration whose pools could together open more connections than the database
    # admits (minus what is kept for the owner, operators and Cloud SQL itself): past
    # max_connections PostgreSQL refuses new connections, so ingest would fail under load.
    precondition {
      condition     = local.database_connections <= var.database_connection_budget
      error_message = "The functions' connection pools (sum of max_instances x database_pool_size = ${local.database_connections}) exceed the database's connection budget (${var.database_connection_budget}: max_connections minus the reserve). Lower max_instances or database_pool_sizes, or raise database_max_connections."
    }
  }
}

# A fan-out function invokes itself (authenticated, STREAM_FANOUT_URL): its own service account
# may invoke its own service and no other.
resource "google_cloud_run_service_iam_member" "self_invoker" {
  for_each = local.fanout_functions
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.this[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.function[each.key].member
}

# Named invokers (operators, an API gateway's account): never allUsers/allAuthenticatedUsers.
resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.invoker_bindings
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.this[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}
