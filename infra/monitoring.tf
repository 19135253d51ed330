# Monitoring: one encrypted SNS topic receives every alert.
#
#   job failures        EventBridge rules: Glue job runs FAILED/TIMEOUT/ERROR, EMR Serverless job runs FAILED
#   schedule failures   the scheduler's dead-letter queue is not empty
#   run duration        CoreTelecoms/Pipeline RunSeconds above var.max_run_seconds
#   missed run          no RunSeconds from the scheduled platform's last job in a day
#   quarantine spike    CoreTelecoms/Pipeline QuarantineRate above var.quarantine_rate_threshold
#   database            CPU, free storage, freeable memory
#   lake growth         lake bucket standard storage growing more than var.lake_daily_growth_threshold_bytes a day
#
# The pipeline publishes the CoreTelecoms/Pipeline metrics at the end of every run (success or not),
# with the dimension Job = "<platform>-<scope>" (glue-dimensions, glue-complaints, emr-all):
#   RunSeconds      the run's wall-clock seconds
#   QuarantineRate  complaints quarantined as orphans / complaints read (0-1), for runs that read complaints

locals {
  # Job dimension values of the pipeline's metrics, per platform and scope.
  metric_jobs = {
    "glue-dimensions" = { platform = "glue", complaints = false }
    "glue-complaints" = { platform = "glue", complaints = true }
    "emr-all"         = { platform = "emr", complaints = true }
  }
  # The last job of each platform's daily run: its metric proves the day's run happened.
  final_metric_job = { glue = "glue-complaints", emr = "emr-all" }

  alarm_actions = [aws_sns_topic.alerts.arn]
}

# ---------------------------------------------------------------------------------------------------
# Alerts topic
# ---------------------------------------------------------------------------------------------------

resource "aws_sns_topic" "alerts" {
  name              = "${local.name}-alerts"
  display_name      = "CoreTelecoms pipeline alerts"
  kms_master_key_id = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "alerts" {
  statement {
    sid       = "EventBridgeRules"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.glue_job_failed.arn, aws_cloudwatch_event_rule.emr_job_failed.arn]
    }
  }

  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.name}-*"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
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

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts.json
}

resource "aws_sns_topic_subscription" "alerts_email" {
  for_each = toset(var.alarm_email_addresses)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# ---------------------------------------------------------------------------------------------------
# Log groups (created here so they are encrypted and expire; the services would create them bare)
# ---------------------------------------------------------------------------------------------------

# Glue names its log groups after the security configuration (and the role) when one encrypts
# CloudWatch Logs: continuous logs in logs-v2-<configuration>, driver output and errors per role.
resource "aws_cloudwatch_log_group" "glue" {
  for_each = {
    continuous = "/aws-glue/jobs/logs-v2-${local.glue_security_configuration}"
    output     = "/aws-glue/jobs/${local.glue_security_configuration}-role/${local.glue_role_name}/output"
    error      = "/aws-glue/jobs/${local.glue_security_configuration}-role/${local.glue_role_name}/error"
  }

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "emr" {
  name              = "/aws/emr-serverless/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.name}-conformance/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# ---------------------------------------------------------------------------------------------------
# Job failures
# ---------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "glue_job_failed" {
  name        = "${local.name}-glue-job-failed"
  description = "A CoreTelecoms Glue job run failed, timed out or errored"
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Job State Change"]
    detail = {
      jobName = [for job in aws_glue_job.pipeline : job.name]
      state   = ["FAILED", "TIMEOUT", "ERROR"]
    }
  })
}

resource "aws_cloudwatch_event_target" "glue_job_failed" {
  rule = aws_cloudwatch_event_rule.glue_job_failed.name
  arn  = aws_sns_topic.alerts.arn

  input_transformer {
    input_paths = {
      job     = "$.detail.jobName"
      run     = "$.detail.jobRunId"
      state   = "$.detail.state"
      message = "$.detail.message"
    }
    input_template = "\"CoreTelecoms Glue job <job> run <run> ended <state>: <message>. Exit code 3 means an input was not ready; see the run report and the job's error log.\""
  }
}

resource "aws_cloudwatch_event_rule" "emr_job_failed" {
  name        = "${local.name}-emr-job-failed"
  description = "A CoreTelecoms EMR Serverless job run failed"
  event_pattern = jsonencode({
    source        = ["aws.emr-serverless"]
    "detail-type" = ["EMR Serverless Job Run State Change"]
    detail = {
      applicationId = [aws_emrserverless_application.spark.id]
      state         = ["FAILED"]
    }
  })
}

resource "aws_cloudwatch_event_target" "emr_job_failed" {
  rule = aws_cloudwatch_event_rule.emr_job_failed.name
  arn  = aws_sns_topic.alerts.arn

  input_transformer {
    input_paths = {
      run     = "$.detail.jobRunId"
      state   = "$.detail.state"
      details = "$.detail.stateDetails"
    }
    input_template = "\"CoreTelecoms EMR Serverless job run <run> ended <state>: <details>. Exit code 3 means an input was not ready; see the run report and the driver log.\""
  }
}

resource "aws_cloudwatch_metric_alarm" "scheduler_dead_letters" {
  alarm_name          = "${local.name}-scheduler-dead-letters"
  alarm_description   = "EventBridge Scheduler could not start the daily EMR Serverless run (messages in its dead-letter queue)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.scheduler_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# ---------------------------------------------------------------------------------------------------
# The pipeline's own metrics
# ---------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "run_duration" {
  for_each = local.metric_jobs

  alarm_name          = "${local.name}-${each.key}-run-duration"
  alarm_description   = "A CoreTelecoms ${each.key} run took longer than ${var.max_run_seconds} s (the job times out at ${var.job_timeout_minutes} min)."
  namespace           = "CoreTelecoms/Pipeline"
  metric_name         = "RunSeconds"
  dimensions          = { Job = each.key }
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.max_run_seconds
  treat_missing_data  = "notBreaching" # no run in the hour is not slowness
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "quarantine_rate" {
  for_each = { for job, spec in local.metric_jobs : job => spec if spec.complaints }

  alarm_name          = "${local.name}-${each.key}-quarantine-spike"
  alarm_description   = "More than ${var.quarantine_rate_threshold * 100}% of a ${each.key} run's complaints were quarantined as orphans: a dimension feed is late or broken."
  namespace           = "CoreTelecoms/Pipeline"
  metric_name         = "QuarantineRate"
  dimensions          = { Job = each.key }
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.quarantine_rate_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# A schedule that silently stopped (trigger disabled, workflow stuck) fails nothing; the absence of
# the day's last metric shows it.
resource "aws_cloudwatch_metric_alarm" "missed_run" {
  alarm_name          = "${local.name}-missed-daily-run"
  alarm_description   = "No ${local.final_metric_job[var.orchestrator]} run reported its metrics in the last day: the daily ${var.orchestrator} schedule did not run to the end."
  namespace           = "CoreTelecoms/Pipeline"
  metric_name         = "RunSeconds"
  dimensions          = { Job = local.final_metric_job[var.orchestrator] }
  statistic           = "SampleCount"
  period              = 86400
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
}

# ---------------------------------------------------------------------------------------------------
# Database and lake
# ---------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${local.name}-conformance-db-cpu"
  alarm_description   = "Conformance database CPU above ${var.db_cpu_threshold_percent}% for 15 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.conformance.identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.db_cpu_threshold_percent
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage" {
  alarm_name          = "${local.name}-conformance-db-free-storage"
  alarm_description   = "Conformance database free storage below ${var.db_free_storage_threshold_bytes} bytes (autoscaling stops at ${var.db_max_allocated_storage_gb} GiB)."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.conformance.identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.db_free_storage_threshold_bytes
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "db_freeable_memory" {
  alarm_name          = "${local.name}-conformance-db-freeable-memory"
  alarm_description   = "Conformance database freeable memory below ${var.db_freeable_memory_threshold_bytes} bytes for 15 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "FreeableMemory"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.conformance.identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "LessThanThreshold"
  threshold           = var.db_freeable_memory_threshold_bytes
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# S3 storage metrics are daily; DIFF is the day's growth of the lake's standard storage (transitions
# to Glacier IR make it negative, which never alarms).
resource "aws_cloudwatch_metric_alarm" "lake_growth" {
  alarm_name          = "${local.name}-lake-daily-growth"
  alarm_description   = "The lake bucket grew by more than ${var.lake_daily_growth_threshold_bytes} bytes in a day: a runaway re-ingestion or a new source volume."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.lake_daily_growth_threshold_bytes
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions

  metric_query {
    id          = "growth"
    expression  = "DIFF(size)"
    label       = "Lake bytes added in a day"
    return_data = true
  }

  metric_query {
    id = "size"
    metric {
      namespace   = "AWS/S3"
      metric_name = "BucketSizeBytes"
      dimensions = {
        BucketName  = aws_s3_bucket.lake.bucket
        StorageType = "StandardStorage"
      }
      stat   = "Average"
      period = 86400
    }
  }
}
