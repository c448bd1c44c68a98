# Migrations during `terraform apply`, with no manual psql: a Cloud Build private pool peered with
# the VPC (so it reaches Cloud SQL's private IP) runs cloudbuild.yaml over the functions' source
# archive: `python -m platform_events migrate` as the owner user, then the role grants. A
# terraform_data resource submits the build whenever migrations/ (or the grants) change; the build
# is idempotent (applied migrations are skipped, checksums verified).

locals {
  migrations_hash = sha256(join("", [for f in sort(fileset(var.migrations_dir, "**/*.sql")) : "${f}:${filesha256("${var.migrations_dir}/${f}")}"]))
  grants          = join(" ", [for user, role in var.user_group_roles : "${role}:${user}"])
}

resource "google_service_account" "migrate" {
  project      = var.project_id
  account_id   = "${var.name}-migrate"
  display_name = "platform-events migrations"
  description  = "Runs the migration build: reads the source archive and the owner's DATABASE_URL."
}

resource "google_project_iam_member" "migrate_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.migrate.email}"
}

resource "google_storage_bucket_iam_member" "migrate_reads_source" {
  bucket = var.source_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.migrate.email}"
}

resource "google_secret_manager_secret_iam_member" "migrate_owner_url" {
  project   = var.project_id
  secret_id = var.owner_database_url_secret_name
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.migrate.email}"
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
    migrations = local.migrations_hash
    grants     = local.grants
    pool       = google_cloudbuild_worker_pool.migrate.id
  }

  provisioner "local-exec" {
    command = join(" ", [
      "gcloud builds submit",
      "gs://${var.source_bucket}/${var.source_object}",
      "--project=${var.project_id}",
      "--region=${var.region}",
      "--worker-pool=${google_cloudbuild_worker_pool.migrate.id}",
      "--service-account=${google_service_account.migrate.id}",
      "--config=${path.module}/cloudbuild.yaml",
      "--substitutions=_DATABASE_URL_SECRET=${var.owner_database_url_secret_id},_GRANTS='${local.grants}'",
    ])
  }

  depends_on = [
    google_project_iam_member.migrate_logs,
    google_storage_bucket_iam_member.migrate_reads_source,
    google_secret_manager_secret_iam_member.migrate_owner_url,
  ]
}
