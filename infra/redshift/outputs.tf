output "workgroup_name" {
  description = "Redshift Serverless workgroup (REDSHIFT_WORKGROUP)."
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "database_name" {
  description = "Redshift database (REDSHIFT_DATABASE)."
  value       = aws_redshiftserverless_namespace.this.db_name
}

output "schema_name" {
  description = "Schema of the events table, owned by the pipeline's database user (REDSHIFT_SCHEMA); known once the bootstrap ran."
  value       = var.schema_name
  depends_on  = [aws_redshiftdata_statement.schema]
}

output "pipeline_role_arn" {
  description = "AWS role the functions assume with their Google ID token (REDSHIFT_AWS_ROLE_ARN)."
  value       = aws_iam_role.pipeline.arn
}

output "web_identity_audience" {
  description = "Audience of the functions' Google ID tokens (REDSHIFT_AWS_AUDIENCE)."
  value       = var.web_identity_audience
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
