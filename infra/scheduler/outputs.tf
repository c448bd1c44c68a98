output "job_ids" {
  description = "Schedule key => full Cloud Scheduler job id (projects/P/locations/L/jobs/J)."
  value       = { for key, job in google_cloud_scheduler_job.this : key => job.id }
}

output "invoker_email" {
  description = "Email of the invoker service account the jobs' OIDC tokens are minted for."
  value       = google_service_account.invoker.email
}
