# Cloud SQL for PostgreSQL, private IP only, with backups and point-in-time recovery, and the
# users that still log in with a password: the owner (runs the migrations), the application's and
# the analysts' logins. Each one's full connection URL lives in Secret Manager only: never in an
# output. The functions log in as their own service accounts (IAM database authentication,
# infra/migrations creates those users): no password of theirs exists.
#
# Only the owner is a Cloud SQL API user: users made through the API join cloudsqlsuperuser, which
# the app and analyst logins must not. The migration step (infra/migrations, migrate_database)
# creates those as plain login roles with the passwords generated here and grants each its group
# role.
#
# Why these keep passwords: the owner needs CREATEROLE, which Cloud SQL gives only to its built-in
# users (an IAM user gets no role attributes); the application and the dashboards run outside this
# project, often with no Google identity to fetch a token with (psql, BI tools).

locals {
  # Password users and the group role of migrations/0006 each is granted after migrating (null:
  # the owner, which owns the schema and runs the migrations).
  users = {
    owner   = null
    app     = "platform_events_app"
    analyst = "platform_events_analyst"
  }
  prefix = replace(var.name, "-", "_")
  # Logins are <prefix>_<key>_login, never platform_events_<key>: that is the NOLOGIN group role
  # of migrations/0006, and `GRANT x TO x` fails.
  user_names = { for key, role in local.users : key => key == "owner" ? "${local.prefix}_owner" : "${local.prefix}_${key}_login" }
}

resource "google_sql_database_instance" "this" {
  project             = var.project_id
  name                = "${var.name}-pg"
  region              = var.region
  database_version    = var.database_version
  deletion_protection = var.deletion_protection
  #checkov:skip=CKV_GCP_79:POSTGRES_15/16 are the versions the migrations are tested on (tests/pg15.py and CI); 18 is not yet validated on Cloud SQL.
  #checkov:skip=CKV_GCP_6:TLS is enforced (ssl_mode ENCRYPTED_ONLY, sslmode=require in every URL); client certificates add nothing on a private-IP-only instance whose users have generated passwords.

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.availability_type
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    backup_configuration {
      enabled                        = true
      start_time                     = "03:00"
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = var.pitr_log_days
      backup_retention_settings {
        retained_backups = var.backup_retained_count
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7
      hour         = 4
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = false
      record_client_address   = false
    }

    # Flags the pipeline relies on (connections, partition locks), then the CIS logging flags.
    database_flags {
      name  = "max_connections"
      value = tostring(var.max_connections)
    }
    # partitioned tables: a query over the monthly partitions takes one lock per partition
    database_flags {
      name  = "max_locks_per_transaction"
      value = "256"
    }
    # The functions log in as their service accounts with short-lived OAuth tokens.
    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "ddl,role"
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "warning"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
  }
}

resource "google_sql_database" "this" {
  project  = var.project_id
  instance = google_sql_database_instance.this.name
  name     = var.database_name
}

# Letters and digits only, so the password needs no escaping in a libpq URL.
resource "random_password" "user" {
  for_each = local.users
  length   = 40
  special  = false
}

resource "google_sql_user" "owner" {
  project  = var.project_id
  instance = google_sql_database_instance.this.name
  name     = local.user_names["owner"]
  password = random_password.user["owner"].result
}

resource "google_secret_manager_secret" "database_url" {
  for_each  = local.users
  project   = var.project_id
  secret_id = "${var.name}-database-url-${each.key}"
  labels    = merge(var.labels, { "db-user" = each.key })

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  for_each = local.users
  secret   = google_secret_manager_secret.database_url[each.key].id
  # The owner exists once google_sql_user.owner does; the others are created by the migration step.
  secret_data = format(
    "postgresql://%s:%s@%s:5432/%s?sslmode=require",
    local.user_names[each.key],
    random_password.user[each.key].result,
    google_sql_database_instance.this.private_ip_address,
    google_sql_database.this.name,
  )
  depends_on = [google_sql_user.owner]
}

# The app's and analyst's passwords for the migration step, one JSON object (LOGIN_PASSWORDS of
# migrate_database, the only reader).
resource "google_secret_manager_secret" "login_passwords" {
  project   = var.project_id
  secret_id = "${var.name}-login-passwords"
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "login_passwords" {
  secret = google_secret_manager_secret.login_passwords.id
  secret_data = jsonencode({
    for key, role in local.users : local.user_names[key] => random_password.user[key].result if role != null
  })
}
