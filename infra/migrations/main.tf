# Migrations during `terraform apply`, with no manual psql: a Cloud Build private pool peered with
# the VPC (so it reaches Cloud SQL's private IP) runs cloudbuild.yaml over the functions' source
# archive: `python -m platform_events migrate` as the owner user, then the login users of the other
# roles. A terraform_data resource submits the build (gcloud, where terraform runs) whenever
# migrations/, the login roles or a password change; the build is idempotent (applied migrations
# are skipped, their checksums verified).

locals {
  users           = ["owner", "app", "ingest", "pipeline", "analyst"]
  migrations_hash = sha256(join("", [for f in sort(fileset(var.migrations_dir, "**/*.sql")) : "${f}:${filesha256("${var.migrations_dir}/${f}")}"]))
  login_roles     = join(" ", [for user, role in var.user_group_roles : "${user}:${role}" if user != "owner"])
  substitutions = join("|", concat(
    [for user in local.users : "_${upper(user)}_SECRET=${var.database_url_secret_ids[user]}"],
    ["_LOGIN_ROLES=${local.login_roles}"],
  ))
}

resource "google_service_account" "migrate" {
  project      = var.project_id
  account_id   = "${var.name}-migrate"
  display_name = "platform-events migrations"
  description  = "Runs the migration build: reads the source archive and the database users' URLs."
}

resource "google_project_iam_member" "migrate_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.migrate.member
}

resource "google_storage_bucket_iam_member" "migrate_reads_source" {
  bucket = var.source_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.migrate.member
}

# The owner's URL to migrate; the others' to create their login roles with their passwords.
resource "google_secret_manager_secret_iam_member" "migrate" {
  for_each  = toset(local.users)
  project   = var.project_id
  secret_id = var.database_url_secret_ids[each.key]
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.migrate.member
}

resource "google_cloudbuild_worker_pool" "migrate" {
  #checkov:skip=CKV_GCP_86:The migration build installs its pinned dependencies from PyPI; the workers have no inbound exposure, run one build per migration change and reach Cloud SQL over the private peering.
  project  = var.project_id
  name     = "${var.name}-migrate"
  location = var.region

  worker_config {
    machine_type   = var.machine_type
    disk_size_gb   = 100
    no_external_ip = false # pip installs the runtime dependencies from PyPI
  }

  network_config {
    peered_network = var.network_id
  }
}

resource "terraform_data" "migrate" {
  count = var.run_migrations ? 1 : 0
  input = local.migrations_hash

  triggers_replace = {
    migrations  = local.migrations_hash
    login_roles = local.login_roles
    passwords   = var.database_url_versions
    pool        = google_cloudbuild_worker_pool.migrate.id
  }

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      gcloud builds submit "gs://$SOURCE_BUCKET/$SOURCE_OBJECT" --config="$CONFIG" \
        --project="$PROJECT" --region="$REGION" --worker-pool="$POOL" --service-account="$SA" \
        --substitutions="^|^$SUBSTITUTIONS"
    EOT
    environment = {
      SOURCE_BUCKET = var.source_bucket
      SOURCE_OBJECT = var.source_object
      CONFIG        = "${path.module}/cloudbuild.yaml"
      PROJECT       = var.project_id
      REGION        = var.region
      POOL          = google_cloudbuild_worker_pool.migrate.id
      SA            = google_service_account.migrate.id
      SUBSTITUTIONS = local.substitutions
    }
  }

  depends_on = [
    google_project_iam_member.migrate_logs,
    google_storage_bucket_iam_member.migrate_reads_source,
    google_secret_manager_secret_iam_member.migrate,
  ]
}
