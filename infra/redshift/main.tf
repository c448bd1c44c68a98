# Optional Redshift Serverless warehouse (warehouse = "redshift"; the root creates this module with
# count): namespace and workgroup, the S3 staging bucket COPY reads, the IAM role COPY assumes, and
# the AWS identity the GCP functions use for the Data API and S3 staging.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

resource "aws_kms_key" "this" {
  description             = "${var.name}: Redshift namespace, staging bucket and admin secret encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_s3_bucket" "staging" {
  #checkov:skip=CKV_AWS_18:Staging files live minutes (deleted after COPY); CloudTrail data events cover access auditing if required.
  #checkov:skip=CKV_AWS_144:Staging data is transient and reproducible from the event store; cross-region replication adds cost, no durability need.
  #checkov:skip=CKV2_AWS_62:No consumer of object events: the sink drives COPY itself through the Data API.
  bucket_prefix = "${var.name}-staging-"
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

resource "aws_s3_bucket_versioning" "staging" {
  bucket = aws_s3_bucket.staging.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "staging" {
  bucket = aws_s3_bucket.staging.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
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

# The role Redshift assumes for COPY: read the staging prefix, decrypt with the key.
resource "aws_iam_role" "copy" {
  name = "${var.name}-redshift-copy"
  tags = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"] }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
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
        Condition = { StringLike = { "s3:prefix" = ["${var.staging_prefix}*"] } }
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = aws_kms_key.this.arn
      },
    ]
  })
}

resource "aws_redshiftserverless_namespace" "this" {
  namespace_name                   = "${var.name}-ns"
  db_name                          = var.database_name
  admin_username                   = var.admin_username
  manage_admin_password            = true
  admin_password_secret_kms_key_id = aws_kms_key.this.arn
  kms_key_id                       = aws_kms_key.this.arn
  iam_roles                        = [aws_iam_role.copy.arn]
  default_iam_role_arn             = aws_iam_role.copy.arn
  log_exports                      = ["userlog", "connectionlog", "useractivitylog"]
  tags                             = var.tags
}

resource "aws_redshiftserverless_workgroup" "this" {
  namespace_name       = aws_redshiftserverless_namespace.this.namespace_name
  workgroup_name       = "${var.name}-wg"
  base_capacity        = var.base_capacity
  publicly_accessible  = false
  enhanced_vpc_routing = true
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids
  tags                 = var.tags
}

# The GCP functions' AWS identity: Data API on this workgroup, the admin secret the Data API
# authenticates with, and the staging prefix. Its access key is stored in GCP Secret Manager by the
# functions module (never a root output).
resource "aws_iam_user" "pipeline" {
  #checkov:skip=CKV_AWS_273:The caller runs on GCP (Cloud Functions) and has no AWS SSO/federated session; a single-purpose user with an access key kept in Secret Manager is the identity.
  name = "${var.name}-gcp-pipeline"
  tags = var.tags
}

resource "aws_iam_access_key" "pipeline" {
  user = aws_iam_user.pipeline.name
}

resource "aws_iam_policy" "pipeline" {
  name        = "${var.name}-gcp-pipeline"
  description = "Redshift Data API on the platform-events workgroup and its S3 staging prefix."
  tags        = var.tags
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "DataApiOnWorkgroup"
        Effect = "Allow"
        Action = ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"]
        Resource = [
          aws_redshiftserverless_workgroup.this.arn,
        ]
      },
      {
        Sid    = "DataApiOwnStatements"
        Effect = "Allow"
        Action = [
          "redshift-data:DescribeStatement",
          "redshift-data:GetStatementResult",
          "redshift-data:CancelStatement",
        ]
        Resource  = "*"
        Condition = { StringEquals = { "redshift-data:statement-owner-iam-userid" = "$${aws:userid}" } }
      },
      {
        Sid      = "AdminSecret"
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
        Sid      = "Kms"
        Effect   = "Allow"
        Action   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
        Resource = aws_kms_key.this.arn
      },
    ]
  })
}

resource "aws_iam_group" "pipeline" {
  name = "${var.name}-gcp-pipeline"
}

resource "aws_iam_group_policy_attachment" "pipeline" {
  group      = aws_iam_group.pipeline.name
  policy_arn = aws_iam_policy.pipeline.arn
}

resource "aws_iam_user_group_membership" "pipeline" {
  user   = aws_iam_user.pipeline.name
  groups = [aws_iam_group.pipeline.name]
}
