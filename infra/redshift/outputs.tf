output "workgroup_name" {
  description = "Redshift Serverless workgroup (REDSHIFT_WORKGROUP)."
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "database_name" {
  description = "Redshift database (REDSHIFT_DATABASE)."
  value       = aws_redshiftserverless_namespace.this.db_name
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret the Data API authenticates with (REDSHIFT_SECRET_ARN; an ARN, not the secret)."
  value       = aws_redshiftserverless_namespace.this.admin_password_secret_arn
}

output "s3_bucket" {
  description = "Staging bucket (REDSHIFT_S3_BUCKET)."
  value       = aws_s3_bucket.staging.bucket
}

output "s3_prefix" {
  description = "Key prefix of the staging files (REDSHIFT_S3_PREFIX)."
  value       = var.staging_prefix
}

output "copy_role_arn" {
  description = "IAM role COPY assumes (REDSHIFT_IAM_ROLE_ARN)."
  value       = aws_iam_role.copy.arn
}

output "region" {
  description = "AWS region of the workgroup and bucket (AWS_REGION)."
  value       = data.aws_region.current.region
}

output "credential_secret_ids" {
  description = "Environment variable => GCP Secret Manager secret id of the pipeline's AWS access key (ids only)."
  value       = { for env, secret in google_secret_manager_secret.aws : env => secret.secret_id }
  depends_on  = [google_secret_manager_secret_version.aws]
}
