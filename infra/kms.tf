# One customer-managed key for the pipeline's data at rest: the lake, artifacts and data-docs buckets,
# the database (storage, Performance Insights, master secret), the pipeline's secrets, log groups, the
# alerts topic, Glue's security configuration, the scheduler payload and its dead-letter queue.
# One key keeps the grants simple: everything encrypted with it is the pipeline's own data, and the
# roles that may use it are exactly the job roles (iam.tf) plus the services named in its policy.

resource "aws_kms_key" "main" {
  description             = "CoreTelecoms pipeline data at rest (${var.environment})"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

# A key policy's Resource "*" means "this key": a key policy cannot name anything else.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:This is a key policy, not an identity policy: Resource "*" is the key itself, and kms:* for the account root is AWS's default statement that hands access control to IAM policies (without it the key could become unmanageable).
  #checkov:skip=CKV_AWS_111:This is a key policy, not an identity policy: Resource "*" is the key itself; the only write access is the account root's default statement delegating to IAM and the services' use of this key.
  #checkov:skip=CKV_AWS_356:This is a key policy, not an identity policy: in a key policy Resource must be "*" and means this key only.
  # The account's IAM policies decide who else may use the key (the job roles, the deployers);
  # without this statement only the key policy could grant access.
  statement {
    sid       = "AccountIamPolicies"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the pipeline's log groups itself; limited to this account's log groups.
  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # EventBridge rules and CloudWatch alarms publish to the encrypted alerts topic; SNS uses the key on
  # their behalf (AWS: "compatibility between event sources and encrypted topics"). The topic policy
  # (monitoring.tf) limits which rules and alarms of this account may publish.
  statement {
    sid       = "AlertPublishers"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
  }
}
