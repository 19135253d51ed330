# Roles, least privilege. Two job roles (Glue, EMR Serverless) with the same data access:
#   read the landing bucket, read/write the lake, read released artifacts, write the data docs,
#   read the four pipeline secrets, use the pipeline key, write their own logs and metrics.
# Plus the scheduler's role (start one job run on one application, pass one role) and RDS enhanced
# monitoring's role. Resource "*" appears only where the action has no resource-level permissions,
# each case commented.

# ---------------------------------------------------------------------------------------------------
# What both job roles may do with the data
# ---------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "job_data_access" {
  statement {
    sid       = "LandingList"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = ["arn:${local.partition}:s3:::${var.source_bucket_name}"]
  }

  statement {
    sid       = "LandingRead"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["arn:${local.partition}:s3:::${var.source_bucket_name}/*"]
  }

  # The lake: Delta writes, overwrites and VACUUM delete objects; S3A lists and uploads in parts.
  statement {
    sid = "LakeBucket"
    actions = [
      "s3:ListBucket",
      "s3:GetBucketLocation",
      "s3:ListBucketMultipartUploads",
    ]
    resources = [aws_s3_bucket.lake.arn]
  }

  statement {
    sid = "LakeObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.lake.arn}/*"]
  }

  # Released artifacts: read only, and only under artifacts/.
  statement {
    sid       = "ArtifactsList"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.artifacts.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["artifacts/*"]
    }
  }

  statement {
    sid       = "ArtifactsRead"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/artifacts/*"]
  }

  # The Data Docs site is rebuilt by the runs: pages are replaced and removed.
  statement {
    sid       = "DataDocsBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.data_docs.arn]
  }

  statement {
    sid       = "DataDocsWrite"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.data_docs.arn}/*"]
  }

  # Exactly the four pipeline secrets; not the RDS master secret.
  statement {
    sid       = "PipelineSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [for secret in aws_secretsmanager_secret.pipeline : secret.arn]
  }

  statement {
    sid = "PipelineKey"
    actions = [
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:DescribeKey",
    ]
    resources = [aws_kms_key.main.arn]
  }

  dynamic "statement" {
    for_each = length(var.source_bucket_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "LandingKeys"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = var.source_bucket_kms_key_arns
    }
  }

  # PutMetricData has no resource-level permissions (AWS requires "*"); the namespace condition is
  # the restriction: the pipeline's own metrics (monitoring.tf) and Glue's job metrics.
  statement {
    sid       = "PipelineMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["CoreTelecoms/Pipeline", "Glue"]
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# Glue job role
# ---------------------------------------------------------------------------------------------------

locals {
  glue_role_name = "${local.name}-glue-job"
}

data "aws_iam_policy_document" "glue_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "glue_job" {
  name               = local.glue_role_name
  description        = "CoreTelecoms Glue jobs (dimensions, complaints)"
  assume_role_policy = data.aws_iam_policy_document.glue_assume.json
}

resource "aws_iam_role_policy" "glue_job_data" {
  name   = "data-access"
  role   = aws_iam_role.glue_job.id
  policy = data.aws_iam_policy_document.job_data_access.json
}

data "aws_iam_policy_document" "glue_job_platform" {
  # Glue writes its driver/executor logs to the log groups its security configuration names
  # (monitoring.tf creates them, encrypted, with retention).
  statement {
    sid = "GlueLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
      "logs:AssociateKmsKey",
    ]
    resources = flatten([
      for group in aws_cloudwatch_log_group.glue : [group.arn, "${group.arn}:*"]
    ])
  }

  # Glue reads the NETWORK connection it runs the job in.
  statement {
    sid     = "GlueConnection"
    actions = ["glue:GetConnection"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:connection/${aws_glue_connection.vpc.name}",
    ]
  }

  # To place the job in the VPC, Glue describes the network with the job's role. EC2 Describe* actions
  # have no resource-level permissions (AWS requires "*"); they reveal no data.
  statement {
    sid = "GlueVpcDescribe"
    actions = [
      "ec2:DescribeVpcEndpoints",
      "ec2:DescribeRouteTables",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "GlueVpcAttributes"
    actions   = ["ec2:DescribeVpcAttribute"]
    resources = [data.aws_vpc.this.arn]
  }

  # ...and creates its network interfaces: only in our subnets, with our security group.
  statement {
    sid     = "GlueVpcInterfaces"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
      [for subnet in data.aws_subnet.private : subnet.arn],
      [aws_security_group.jobs.arn],
    )
  }

  # ...and deletes them after the run (an interface still attached to anything cannot be deleted).
  statement {
    sid       = "GlueVpcInterfacesCleanup"
    actions   = ["ec2:DeleteNetworkInterface"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
  }

  # Glue tags the interfaces it creates, with its own tag key only.
  statement {
    sid       = "GlueVpcInterfaceTags"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["aws-glue-service-resource"]
    }
  }
}

resource "aws_iam_role_policy" "glue_job_platform" {
  name   = "glue-platform"
  role   = aws_iam_role.glue_job.id
  policy = data.aws_iam_policy_document.glue_job_platform.json
}

# ---------------------------------------------------------------------------------------------------
# EMR Serverless job role (its network interfaces are made by the EMR Serverless service-linked role)
# ---------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "emr_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_emrserverless_application.spark.arn]
    }
  }
}

resource "aws_iam_role" "emr_job" {
  name               = "${local.name}-emr-job"
  description        = "CoreTelecoms EMR Serverless job runs"
  assume_role_policy = data.aws_iam_policy_document.emr_assume.json
}

resource "aws_iam_role_policy" "emr_job_data" {
  name   = "data-access"
  role   = aws_iam_role.emr_job.id
  policy = data.aws_iam_policy_document.job_data_access.json
}

data "aws_iam_policy_document" "emr_job_platform" {
  # EMR Serverless looks the configured log group up before writing to it.
  statement {
    sid       = "EmrLogGroupLookup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }

  statement {
    sid = "EmrLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = [aws_cloudwatch_log_group.emr.arn, "${aws_cloudwatch_log_group.emr.arn}:*"]
  }
}

resource "aws_iam_role_policy" "emr_job_platform" {
  name   = "emr-platform"
  role   = aws_iam_role.emr_job.id
  policy = data.aws_iam_policy_document.emr_job_platform.json
}

# ---------------------------------------------------------------------------------------------------
# EventBridge Scheduler role: start job runs on this application, as the EMR job role, nothing else
# ---------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.name}-scheduler"
  description        = "EventBridge Scheduler: starts the daily CoreTelecoms EMR Serverless job run"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartJobRun"
    actions   = ["emr-serverless:StartJobRun"]
    resources = [aws_emrserverless_application.spark.arn]
  }

  statement {
    sid       = "PassJobRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_job.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["emr-serverless.amazonaws.com"]
    }
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.scheduler_dlq.arn]
  }

  # The schedule's payload and the dead-letter queue are encrypted with the pipeline key.
  statement {
    sid       = "PipelineKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "start-emr-job-run"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# ---------------------------------------------------------------------------------------------------
# RDS enhanced monitoring
# ---------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name}-rds-monitoring"
  description        = "RDS enhanced monitoring of the CoreTelecoms conformance database"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
