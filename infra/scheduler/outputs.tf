output "job_names" {
  description = "Cloud Scheduler job id by key (what `platform-events scheduler run|pause|resume` drives)."
  value       = { for key, job in google_cloud_scheduler_job.this : key => job.name }
}

output "invoker_service_account_email" {
  description = "Service account whose OIDC tokens the jobs carry."
  value       = google_service_account.invoker.email
}
