output "dataset_id" {
  description = "Dataset of the dbt models (MODELS_SCHEMA for the console and the typed reads)."
  value       = google_bigquery_dataset.models.dataset_id
}

output "job_name" {
  description = "The Cloud Run job that runs dbt build."
  value       = google_cloud_run_v2_job.models.name
}

output "service_account_email" {
  description = "The models job's service account."
  value       = google_service_account.models.email
}
