# The optional Redshift warehouse (warehouse = "redshift"): a Serverless namespace and workgroup,
# the encrypted S3 bucket the sink stages gzipped NDJSON in, the IAM role COPY reads it with, and
# the pipeline's AWS identity for the Data API (its access key goes to GCP Secret Manager only).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  workgroup_arn = aws_redshiftserverless_workgroup.this.arn
}

resource "aws_kms_key" "staging" {
  description             = "${var.name}: Redshift namespace and COPY staging files"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersThroughIAM"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

# --- Staging bucket --------------------------------------------------------------------------------

resource "aws_s3_bucket" "staging" {
  #checkov:skip=CKV_AWS_18:Access logs of short-lived staging files add nothing; CloudTrail data events cover access when required.
  #checkov:skip=CKV_AWS_144:Staging files live minutes and are re-creatable from Postgres; replication would double cost for nothing.
  #checkov:skip=CKV2_AWS_62:No consumer of object events: the sink itself runs the COPY.
  bucket        = "${var.name}-redshift-staging-${local.account_id}"
  force_destroy = !var.deletion_protection
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "staging" {
  bucket                  = aws_s3_bucket.staging.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "staging" {
  bucket = aws_s3_bucket.staging.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "staging" {
  bucket = aws_s3_bucket.staging.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.staging.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "staging" {
  bucket = aws_s3_bucket.staging.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "staging" {
  bucket = aws_s3_bucket.staging.id

  rule {
    id     = "expire-staging"
    status = "Enabled"
    filter {
      prefix = var.staging_prefix
    }
    expiration {
      days = var.staging_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.staging]
}

resource "aws_s3_bucket_policy" "staging" {
  bucket = aws_s3_bucket.staging.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.staging.arn, "${aws_s3_bucket.staging.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  depends_on = [aws_s3_bucket_public_access_block.staging]
}

# --- COPY role ----------------------------------------------------------------------------------------

resource "aws_iam_role" "copy" {
  name        = "${var.name}-redshift-copy"
  description = "Assumed by Redshift to COPY the staging files (REDSHIFT_IAM_ROLE_ARN)."
  tags        = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"] }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "copy" {
  name = "read-staging"
  role = aws_iam_role.copy.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${aws_s3_bucket.staging.arn}/${var.staging_prefix}*"
      },
      {
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = aws_s3_bucket.staging.arn
        Condition = { StringLike = { "s3:prefix" = "${var.staging_prefix}*" } }
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = aws_kms_key.staging.arn
      },
    ]
  })
}

# --- Redshift Serverless ------------------------------------------------------------------------------

resource "aws_redshiftserverless_namespace" "this" {
  namespace_name        = "${var.name}-ns"
  db_name               = var.database_name
  admin_username        = "platform_events_admin"
  manage_admin_password = true
  kms_key_id            = aws_kms_key.staging.arn
  iam_roles             = [aws_iam_role.copy.arn]
  default_iam_role_arn  = aws_iam_role.copy.arn
  log_exports           = ["connectionlog", "userlog", "useractivitylog"]
  tags                  = var.tags
}

resource "aws_redshiftserverless_workgroup" "this" {
  namespace_name       = aws_redshiftserverless_namespace.this.namespace_name
  workgroup_name       = "${var.name}-wg"
  base_capacity        = var.base_capacity
  publicly_accessible  = false
  enhanced_vpc_routing = true
  subnet_ids           = length(var.subnet_ids) > 0 ? var.subnet_ids : null
  security_group_ids   = length(var.security_group_ids) > 0 ? var.security_group_ids : null
  tags                 = var.tags
}

# --- The pipeline's AWS identity (Data API, staging writes) -------------------------------------------
# The functions run on GCP, so they use an access key kept in GCP Secret Manager and mounted on the
# warehouse functions only. The permissions sit on a group, the user only belongs to it.

resource "aws_iam_group" "pipeline" {
  name = "${var.name}-pipeline"
}

resource "aws_iam_user" "pipeline" {
  #checkov:skip=CKV_AWS_273:The caller runs on GCP, outside AWS SSO; its only credential is an access key in GCP Secret Manager.
  name = "${var.name}-pipeline"
  tags = var.tags
}

resource "aws_iam_user_group_membership" "pipeline" {
  user   = aws_iam_user.pipeline.name
  groups = [aws_iam_group.pipeline.name]
}

resource "aws_iam_group_policy" "pipeline" {
  name  = "redshift-sink"
  group = aws_iam_group.pipeline.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "RunStatements"
        Effect   = "Allow"
        Action   = ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"]
        Resource = local.workgroup_arn
      },
      {
        Sid      = "ReadOwnStatements"
        Effect   = "Allow"
        Action   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"]
        Resource = "*"
        Condition = {
          StringEquals = { "redshift-data:statement-owner-iam-userid" = "$${aws:userid}" }
        }
      },
      {
        Sid      = "DatabaseCredentials"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = aws_redshiftserverless_namespace.this.admin_password_secret_arn
      },
      {
        Sid      = "Staging"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
        Resource = "${aws_s3_bucket.staging.arn}/${var.staging_prefix}*"
      },
      {
        Sid      = "StagingKey"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = aws_kms_key.staging.arn
      },
    ]
  })
}

resource "aws_iam_access_key" "pipeline" {
  user = aws_iam_user.pipeline.name
}

resource "google_secret_manager_secret" "aws" {
  for_each  = toset(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
  project   = var.gcp_project_id
  secret_id = "${var.name}-${lower(replace(each.key, "_", "-"))}"
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "aws" {
  for_each = google_secret_manager_secret.aws
  secret   = each.value.id
  secret_data = (each.key == "AWS_ACCESS_KEY_ID"
    ? aws_iam_access_key.pipeline.id
  : aws_iam_access_key.pipeline.secret)
}
