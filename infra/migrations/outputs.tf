output "job_name" {
  description = "Cloud Run job of the migration step (null with run_migrations = false)."
  value       = one(google_cloud_run_v2_job.migrate[*].name)
}

output "execution_token" {
  description = "Digest of what the last migration step ran for (migrations, source, logins, password versions)."
  value       = local.token
}

output "service_account_email" {
  description = "Service account of the migration job (may invoke migrate_database only)."
  value       = google_service_account.trigger.email
}
