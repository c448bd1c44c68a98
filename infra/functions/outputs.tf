output "functions" {
  description = "Function key => name, entry point, HTTPS URL and Cloud Run service of each deployed function."
  value = {
    for key, fn in google_cloudfunctions2_function.this : key => {
      name        = fn.name
      entry_point = var.functions[key].entry_point
      url         = fn.service_config[0].uri
      service     = fn.name
    }
  }
}

output "service_accounts" {
  description = "Function key => email of its runtime service account."
  value       = { for key, sa in google_service_account.function : key => sa.email }
}

output "service_account_unique_ids" {
  description = "Function key => numeric unique id of its runtime service account (the sub of its Google ID tokens, trusted by the Redshift pipeline role)."
  value       = { for key, sa in google_service_account.function : key => sa.unique_id }
}

output "source_bucket" {
  description = "Bucket holding the source archives."
  value       = google_storage_bucket.source.name
}

output "source_object" {
  description = "Object name of the source archive (one name; each content is a new generation)."
  value       = google_storage_bucket_object.source.name
}

output "source_generation" {
  description = "Generation of the deployed source archive (changes with its content)."
  value       = google_storage_bucket_object.source.generation
}

output "write_keys_secret_id" {
  description = "Secret Manager secret holding INGEST_WRITE_KEYS (read the generated key with gcloud; the value is never an output)."
  value       = google_secret_manager_secret.write_keys.secret_id
}

output "service_names" {
  description = "Function key => Cloud Run service name, known before the functions exist (the log-based metrics filter on them, so they need not wait for the functions)."
  value       = local.names
}
