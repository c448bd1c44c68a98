output "migrations_hash" {
  description = "SHA-256 over migrations/ as last applied (the build's trigger)."
  value       = var.run_migrations ? terraform_data.migrate[0].output : local.migrations_hash
}

output "worker_pool_id" {
  description = "Cloud Build private pool of the migration build (rerun by hand: see infra/README.md)."
  value       = google_cloudbuild_worker_pool.migrate.id
}

output "service_account_email" {
  description = "Service account the migration build runs as."
  value       = google_service_account.migrate.email
}
