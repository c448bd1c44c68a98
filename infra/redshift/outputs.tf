output "workgroup_name" {
  description = "Redshift Serverless workgroup (REDSHIFT_WORKGROUP)."
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "database_name" {
  description = "Redshift database (REDSHIFT_DATABASE)."
  value       = aws_redshiftserverless_namespace.this.db_name
}

output "secret_arn" {
  description = "Secrets Manager ARN of the admin credentials the Data API authenticates with (REDSHIFT_SECRET_ARN)."
  value       = aws_redshiftserverless_namespace.this.admin_password_secret_arn
}

output "staging_bucket" {
  description = "S3 staging bucket of COPY (REDSHIFT_S3_BUCKET)."
  value       = aws_s3_bucket.staging.bucket
}

output "copy_role_arn" {
  description = "IAM role COPY assumes to read the staging files (REDSHIFT_IAM_ROLE_ARN)."
  value       = aws_iam_role.copy.arn
}

output "region" {
  description = "AWS region of the namespace and bucket (AWS_REGION)."
  value       = data.aws_region.current.name
}

output "pipeline_access_key" {
  description = "Access key of the functions' AWS user; stored in GCP Secret Manager by the functions module, never a root output."
  value = {
    access_key_id     = aws_iam_access_key.pipeline.id
    secret_access_key = aws_iam_access_key.pipeline.secret
  }
  sensitive = true
}
