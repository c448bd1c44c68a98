output "function_uris" {
  description = "HTTPS URI of each function, by entry point."
  value       = { for key, fn in google_cloudfunctions2_function.this : key => fn.service_config[0].uri }
}

output "function_services" {
  description = "Cloud Run service name behind each function (for run.invoker bindings), by entry point."
  value       = { for key, fn in google_cloudfunctions2_function.this : key => fn.service_config[0].service }
}

output "service_account_emails" {
  description = "Runtime service account of each role (ingest, pipeline, erasure)."
  value       = { for key, sa in google_service_account.role : key => sa.email }
}

output "source_bucket" {
  description = "Bucket holding the functions' source archives."
  value       = google_storage_bucket.source.name
}

output "source_object" {
  description = "Object name of the deployed archive (content-addressed)."
  value       = google_storage_bucket_object.source.name
}

output "source_archive_path" {
  description = "Local path of the archive (functions/ with migrations/ staged inside), reused by the migration build."
  value       = data.archive_file.source.output_path
}

output "secret_ids" {
  description = "Secret ids of the ingest write keys and the erasure audit key (values never output)."
  value       = { for key, secret in google_secret_manager_secret.generated : key => secret.secret_id }
}
