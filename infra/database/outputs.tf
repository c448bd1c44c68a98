output "instance_name" {
  description = "Name of the Cloud SQL instance."
  value       = google_sql_database_instance.this.name
}

output "connection_name" {
  description = "Connection name (project:region:instance), for the Cloud SQL Auth Proxy."
  value       = google_sql_database_instance.this.connection_name
}

output "private_ip" {
  description = "Private IP of the instance (reachable through the VPC only)."
  value       = google_sql_database_instance.this.private_ip_address
}

output "database_name" {
  description = "Name of the event store database."
  value       = google_sql_database.this.name
}

output "user_names" {
  description = "Login user per role (owner, app, ingest, pipeline, analyst); passwords are in the secrets only."
  value       = local.user_names
}

output "user_group_roles" {
  description = "Group role of migrations/0006 each login user is granted after migrating (owner: none)."
  value       = { for key, role in local.users : key => role if role != null }
}

output "database_url_secret_ids" {
  description = "Secret Manager secret id holding the full DATABASE_URL of each user (the value is never an output)."
  value       = { for key, secret in google_secret_manager_secret.database_url : key => secret.secret_id }
  # Consumers (functions, migrations) need a version to read, not only the secret.
  depends_on = [google_secret_manager_secret_version.database_url]
}

output "database_url_versions" {
  description = "Resource name of the current secret version of each DATABASE_URL (not its value): changes when a password does."
  value       = { for key, version in google_secret_manager_secret_version.database_url : key => version.name }
}

output "database_url_secret_names" {
  description = "Full resource name (projects/P/secrets/S) of each user's DATABASE_URL secret, for IAM bindings."
  value       = { for key, secret in google_secret_manager_secret.database_url : key => secret.id }
}
