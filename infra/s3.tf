# Buckets: the lake (bronze/silver/gold Delta tables, manifests, run reports), the release artifacts,
# the Great Expectations Data Docs site, and the access-log bucket they all log to.
#
# Every data bucket: SSE-KMS with the pipeline key (bucket keys on, fewer KMS calls), versioning, all
# public access blocked, ACLs disabled (BucketOwnerEnforced), TLS 1.2+ only, server access logging.

# ---------------------------------------------------------------------------------------------------
# The lake: bronze, silver and gold Delta tables, lineage manifests (lake/_manifests/) and run reports
# (lake/_runs/), all under lake/ (settings `lake`), plus Glue's scratch space (_glue_temp/).
# ---------------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "lake" {
  #checkov:skip=CKV_AWS_144:No cross-region replication: versioning (noncurrent versions kept) covers deletes and overwrites, the file and database sources can be re-ingested by re-running dates, and the conformance database has its own backups. A second region is an account-level DR decision with its own key and budget (infra/README.md).
  #checkov:skip=CKV2_AWS_62:No event notifications: the pipeline is schedule-driven and nothing consumes object events; enabling them would only add an unused integration.

  bucket = "${local.name}-lake-${local.bucket_suffix}"

  tags = { Purpose = "lake" }
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket                  = aws_s3_bucket.lake.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "lake" {
  bucket        = aws_s3_bucket.lake.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "lake/"
}

# ---------------------------------------------------------------------------------------------------
# Release artifacts: wheels, the entry script, the JDBC driver and the EMR virtualenv, under
# artifacts/<version>/ (main.tf).
# ---------------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_144:No cross-region replication: every release is rebuilt from git by `make dist` and uploaded again; versioning covers deletes and overwrites.
  #checkov:skip=CKV2_AWS_62:No event notifications: deployments are driven by the deploy step and Terraform, not by object events.

  bucket = "${local.name}-artifacts-${local.bucket_suffix}"

  tags = { Purpose = "artifacts" }
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "artifacts" {
  bucket        = aws_s3_bucket.artifacts.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "artifacts/"
}

# ---------------------------------------------------------------------------------------------------
# The Great Expectations Data Docs site (static HTML, read through the console or presigned URLs;
# never public).
# ---------------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "data_docs" {
  #checkov:skip=CKV_AWS_144:No cross-region replication: the Data Docs site is regenerated from the kept validation results by every run (or `make docs`).
  #checkov:skip=CKV2_AWS_62:No event notifications: nothing consumes the site's object events.

  bucket = "${local.name}-data-docs-${local.bucket_suffix}"

  tags = { Purpose = "data-docs" }
}

resource "aws_s3_bucket_versioning" "data_docs" {
  bucket = aws_s3_bucket.data_docs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data_docs" {
  bucket = aws_s3_bucket.data_docs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "data_docs" {
  bucket                  = aws_s3_bucket.data_docs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "data_docs" {
  bucket = aws_s3_bucket.data_docs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "data_docs" {
  bucket        = aws_s3_bucket.data_docs.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "data-docs/"
}

# ---------------------------------------------------------------------------------------------------
# TLS only (1.2 or later) on every data bucket
# ---------------------------------------------------------------------------------------------------

locals {
  data_buckets = {
    lake      = aws_s3_bucket.lake
    artifacts = aws_s3_bucket.artifacts
    data_docs = aws_s3_bucket.data_docs
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.data_buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = local.data_buckets

  bucket = each.value.id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  # A policy put while public access is still unblocked could be judged public; order them.
  depends_on = [
    aws_s3_bucket_public_access_block.lake,
    aws_s3_bucket_public_access_block.artifacts,
    aws_s3_bucket_public_access_block.data_docs,
  ]
}

# ---------------------------------------------------------------------------------------------------
# Lifecycle of the lake (the pre-deployment checklist: bronze to Glacier after 90 days, problematic
# data deleted after a year, manifests kept indefinitely)
# ---------------------------------------------------------------------------------------------------
#
# Bronze: one rule per source table prefix, so that nothing outside the five bronze tables is touched:
# the lineage manifests (lake/_manifests/, and any bronze/_manifests/) match no rule and are kept
# indefinitely, as the checklist requires.
#
# The class is GLACIER_IR (Glacier Instant Retrieval), not GLACIER (Flexible Retrieval), on purpose:
# these prefixes are live Delta tables. An object in Flexible Retrieval cannot be read until it is
# restored, and every Delta read or write of a table reads its _delta_log; a rarely written table
# (customers: only when a new copy lands) would have its whole log archived after 90 days and become
# unreadable - the next ingestion would fail. Instant Retrieval costs about what Flexible Retrieval
# does to store, answers in milliseconds, so the tables (time travel included) keep working; what
# older than 90 days costs is a per-GB retrieval fee, paid only by audits and replays of old dates.
# Objects under 128 KB (most _delta_log commits) are not transitioned at all (the default minimum
# object size, made explicit below).
#
# dq_issues: the checklist's "problematic data" is the silver dq_issues Delta table. S3 expiry works
# on files, not rows, so the contract is: the pipeline deletes dq_issues rows of inputs older than a
# year (Delta DELETE, before the files reach 365 days), and this rule then removes what is left of
# those files: expired current versions after 365 days, superseded versions one day after they stop
# being current. A dq_issues data file is written by the run of the dates it holds (or later, by a
# replay or compaction), so a file 365 days old holds only rows over a year old. Without the
# pipeline's delete, the table's log would still name expired files and reads of dq_issues would fail.
resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  transition_default_minimum_object_size = "all_storage_classes_128K"

  rule {
    id     = "bronze-customers-to-glacier-ir-after-90-days"
    status = "Enabled"
    filter {
      prefix = "lake/bronze/customers/"
    }
    transition {
      days          = 90
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "bronze-agents-to-glacier-ir-after-90-days"
    status = "Enabled"
    filter {
      prefix = "lake/bronze/agents/"
    }
    transition {
      days          = 90
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "bronze-call-logs-to-glacier-ir-after-90-days"
    status = "Enabled"
    filter {
      prefix = "lake/bronze/call_logs/"
    }
    transition {
      days          = 90
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "bronze-sm-complaints-to-glacier-ir-after-90-days"
    status = "Enabled"
    filter {
      prefix = "lake/bronze/sm_complaints/"
    }
    transition {
      days          = 90
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "bronze-web-complaints-to-glacier-ir-after-90-days"
    status = "Enabled"
    filter {
      prefix = "lake/bronze/web_complaints/"
    }
    transition {
      days          = 90
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "dq-issues-deleted-after-365-days"
    status = "Enabled"
    filter {
      prefix = "lake/silver/dq_issues/"
    }
    expiration {
      days = 365
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # Glue's --TempDir (glue.tf): scratch space, never needed after a run.
  rule {
    id     = "glue-temporary-files-deleted-after-7-days"
    status = "Enabled"
    filter {
      prefix = "_glue_temp/"
    }
    expiration {
      days = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # Whole bucket: current objects are never touched here. Superseded versions (Delta VACUUM, overwrites)
  # stay recoverable for a while, then go; abandoned multipart uploads and lone delete markers go.
  rule {
    id     = "noncurrent-versions-and-incomplete-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake]
}

# Artifacts are kept (rolling back is applying an older artifact_version); data docs are rebuilt by
# every run. Both only drop superseded versions and abandoned uploads.
resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "noncurrent-versions-and-incomplete-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.artifacts]
}

resource "aws_s3_bucket_lifecycle_configuration" "data_docs" {
  bucket = aws_s3_bucket.data_docs.id

  rule {
    id     = "noncurrent-versions-and-incomplete-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.data_docs]
}

# ---------------------------------------------------------------------------------------------------
# Access logs
# ---------------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target bucket; logging it would log its own log deliveries, endlessly.
  #checkov:skip=CKV_AWS_144:Access logs are an audit trail of this region's buckets; replicating them is the account's CloudTrail/log-archive decision, not this pipeline's.
  #checkov:skip=CKV2_AWS_62:No event notifications: nothing consumes log-delivery events.
  #checkov:skip=CKV_AWS_145:S3 server access log delivery does not support SSE-KMS on the target bucket (AWS documentation); it is encrypted with SSE-S3 (AES256) instead.
  bucket = "${local.name}-access-logs-${local.bucket_suffix}"

  tags = { Purpose = "access-logs" }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# With ACLs disabled, log delivery is granted by the bucket policy: the S3 logging service, for this
# account's data buckets only.
data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for bucket in local.data_buckets : bucket.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "access-logs-retention"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}
