# The optional Redshift warehouse (warehouse = "redshift"): a Serverless namespace and workgroup,
# the encrypted S3 bucket the sink stages gzipped NDJSON in, the IAM role COPY reads it with, the
# pipeline's AWS role (assumed with the warehouse functions' Google identity: no AWS key exists),
# and the bootstrap that makes the role's database user the owner of its own schema only.

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
# Web identity federation: the functions run on GCP and exchange a Google-signed ID token of their
# service account for this role's temporary credentials (sinks/aws_identity.py). For a service
# account's token, accounts.google.com:aud is its azp claim (the account's unique id), :oaud the
# token's aud (the audience the function asks for), :sub the account's unique id
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_oidc_user-id.html).

resource "aws_iam_role" "pipeline" {
  name                 = "${var.name}-pipeline"
  description          = "Assumed by the warehouse functions' Google service accounts (REDSHIFT_AWS_ROLE_ARN)."
  max_session_duration = 3600
  tags                 = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = "accounts.google.com" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "accounts.google.com:aud"  = var.google_service_account_ids
          "accounts.google.com:sub"  = var.google_service_account_ids
          "accounts.google.com:oaud" = var.web_identity_audience
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "pipeline" {
  name = "redshift-sink"
  role = aws_iam_role.pipeline.id
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
        # Without a secret the Data API logs in as the caller's IAM identity: IAMR:<role name>.
        Sid      = "DatabaseCredentials"
        Effect   = "Allow"
        Action   = ["redshift-serverless:GetCredentials"]
        Resource = local.workgroup_arn
      },
      {
        # Every session of this role has the same session name (sinks/aws_identity.py), so a
        # retry in another instance can describe or cancel the statement an earlier one sent.
        Sid      = "ReadOwnStatements"
        Effect   = "Allow"
        Action   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"]
        Resource = "*"
        Condition = {
          StringEquals = { "redshift-data:statement-owner-iam-userid" = "$${aws:userid}" }
        }
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

# --- Bootstrap, with the namespace admin's secret (Terraform's AWS credentials; never the functions') ---
# The pipeline's database user is the role's IAM identity (IAMR:<role>, created here before any
# function connects) and owns its schema: it creates and writes the events table there and has
# no other rights than PUBLIC's. Each statement runs once, through the Data API, when created.

locals {
  database_user = "IAMR:${aws_iam_role.pipeline.name}"
}

resource "aws_redshiftdata_statement" "database_user" {
  workgroup_name = aws_redshiftserverless_workgroup.this.workgroup_name
  database       = aws_redshiftserverless_namespace.this.db_name
  secret_arn     = aws_redshiftserverless_namespace.this.admin_password_secret_arn
  sql            = "CREATE USER \"${local.database_user}\" PASSWORD DISABLE"
}

resource "aws_redshiftdata_statement" "schema" {
  workgroup_name = aws_redshiftserverless_workgroup.this.workgroup_name
  database       = aws_redshiftserverless_namespace.this.db_name
  secret_arn     = aws_redshiftserverless_namespace.this.admin_password_secret_arn
  sql            = "CREATE SCHEMA IF NOT EXISTS ${var.schema_name} AUTHORIZATION \"${local.database_user}\""
  depends_on     = [aws_redshiftdata_statement.database_user]
}
