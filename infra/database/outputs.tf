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
  description = "Password user per key (owner, app, analyst); passwords are in the secrets only."
  value       = local.user_names
}

output "logins" {
  description = "Password logins the migration step creates, with their group role of migrations/0006."
  value       = [for key, role in local.users : { user = local.user_names[key], role = role, auth = "password" } if role != null]
}

output "login_passwords_secret_id" {
  description = "Secret id of LOGIN_PASSWORDS (the logins' passwords, read by migrate_database only)."
  value       = google_secret_manager_secret.login_passwords.secret_id
  depends_on  = [google_secret_manager_secret_version.login_passwords]
}

output "password_versions" {
  description = "Resource name of the current version of every password secret (never a value): changes when a password does."
  value = merge(
    { for key, version in google_secret_manager_secret_version.database_url : key => version.name },
    { login_passwords = google_secret_manager_secret_version.login_passwords.name },
  )
}

output "database_url_secret_ids" {
  description = "Secret Manager secret id holding the full DATABASE_URL of each password user: owner, app, analyst (the value is never an output)."
  value       = { for key, secret in google_secret_manager_secret.database_url : key => secret.secret_id }
  # Consumers (functions, migrations) need a version to read, not only the secret.
  depends_on = [google_secret_manager_secret_version.database_url]
}

output "database_url_secret_names" {
  description = "Full resource name (projects/P/secrets/S) of each user's DATABASE_URL secret, for IAM bindings."
  value       = { for key, secret in google_secret_manager_secret.database_url : key => secret.id }
}

output "iam_database_url" {
  description = "DATABASE_URL of the functions: host and database only (no user, no password: they log in with IAM tokens as DATABASE_IAM_USER)."
  value       = "postgresql://${google_sql_database_instance.this.private_ip_address}:5432/${google_sql_database.this.name}?sslmode=require"
}
