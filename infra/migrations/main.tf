# The migration step, with nothing on the operator's machine but Terraform and its credentials.
#
# The work is done by the migrate_database function (functions/main.py, deployed by
# infra/functions from the same source archive as every other function, so it runs the code that
# is being deployed): `migrate` as the schema owner, then each login user gets its group role of
# migrations/0006 (platform_events.logins). Its service account is the only one that reads the
# owner's password and the login passwords.
#
# It is started by a Cloud Run job with `run_execution_token` (google-beta 6.50; GA only in
# google 7): creating or updating the job with a new token creates an execution, and the provider
# waits until the job is ready, which with this token means the execution *completed
# successfully*. So a failed migration fails `terraform apply`, with the function's answer in the
# execution's log. The token is a digest of what the step depends on (migrations/, the source
# archive, the login users, the password versions): an apply that changes none of them runs nothing.
#
# Why not the alternatives: `gcloud builds submit` needs gcloud where Terraform runs and a build
# source the build's account can read; an `http` data source calling the function runs on every
# `terraform plan` (data sources are read at plan time) and needs an identity token, which user
# credentials can only get by impersonating a service account (a token-creator grant that races
# its own propagation on the first apply); migrating from every function at start would hand the
# owner's password to all of them.

locals {
  # A service account's IAM database user is its email without ".gserviceaccount.com".
  iam_logins = [for key, login in var.iam_logins : {
    user = trimsuffix(login.email, ".gserviceaccount.com"), role = login.role, auth = "iam"
  }]
  body = jsonencode({ logins = concat(var.logins, local.iam_logins) })
  token = substr(sha256(jsonencode({
    migrations = sha256(join("", [for f in sort(fileset(var.migrations_dir, "**/*.sql")) : "${f}:${filesha256("${var.migrations_dir}/${f}")}"]))
    source     = var.source_generation
    body       = local.body
    passwords  = var.password_versions
  })), 0, 32)
}

# Each function's service account as a Cloud SQL IAM database user (Cloud SQL creates the role,
# with LOGIN and no privileges; the step grants its group role).
resource "google_sql_user" "iam" {
  for_each = var.iam_logins
  project  = var.project_id
  instance = var.instance_name
  name     = trimsuffix(each.value.email, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

# The job's identity: it may invoke migrate_database, nothing else.
resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name}-migrun"
  display_name = "platform-events migration trigger"
  description  = "Runs the migration job: calls migrate_database with its identity token."
}

resource "google_cloud_run_service_iam_member" "trigger_invokes_migrate" {
  project  = var.project_id
  location = var.region
  service  = var.migrate_service
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}

resource "google_cloud_run_v2_job" "migrate" {
  provider            = google-beta
  count               = var.run_migrations ? 1 : 0
  project             = var.project_id
  location            = var.region
  name                = "${var.name}-migrate"
  deletion_protection = false
  labels              = var.labels
  # A new token: a new execution, and the update completes only when it succeeded.
  run_execution_token = local.token

  template {
    task_count = 1
    template {
      service_account = google_service_account.trigger.email
      max_retries     = 0
      timeout         = "1800s"
      containers {
        image = var.image
        # base64: Cloud Run expands $(NAME) in commands, which the script's own $(...) must escape.
        command = ["/bin/sh", "-c", "echo ${base64encode(file("${path.module}/trigger.sh"))} | base64 -d | sh"]
        env {
          name  = "MIGRATE_URL"
          value = var.migrate_url
        }
        env {
          name  = "MIGRATE_BODY"
          value = local.body
        }
        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }
      }
    }
  }

  depends_on = [google_cloud_run_service_iam_member.trigger_invokes_migrate, google_sql_user.iam]
}

# A migration that failed leaves the job not ready: every plan says so until one succeeds (re-run
# it with `terraform apply -replace='module.migrations.google_cloud_run_v2_job.migrate[0]'`).
check "migrations_succeeded" {
  assert {
    condition     = !var.run_migrations || try(google_cloud_run_v2_job.migrate[0].terminal_condition[0].state, "CONDITION_SUCCEEDED") == "CONDITION_SUCCEEDED"
    error_message = "The last migration job execution failed: read its log (gcloud run jobs executions list --job=${var.name}-migrate) and re-run it."
  }
}
