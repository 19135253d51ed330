# Amazon EMR Serverless 7.12: one Spark application in the private subnets, and a daily job run
# started by EventBridge Scheduler (enabled when orchestrator = emr). A single run does everything
# (`--scope all`): dimensions first, then complaints, inside the pipeline.

resource "aws_emrserverless_application" "spark" {
  name          = "${local.name}-spark"
  release_label = var.emr_release_label
  type          = "spark"
  # The packed virtualenv (dist/emr-serverless/build-venv.sh) must be built for this architecture.
  architecture = var.emr_architecture

  # Started by the first job run, stopped when idle: nothing runs (or costs) between daily runs.
  auto_start_configuration {
    enabled = true
  }

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = var.emr_idle_timeout_minutes
  }

  maximum_capacity {
    cpu    = var.emr_maximum_capacity.cpu
    memory = var.emr_maximum_capacity.memory
    disk   = var.emr_maximum_capacity.disk
  }

  network_configuration {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.jobs.id]
  }
}

locals {
  # jobs/run_pipeline.py's arguments (tests/infra checks each against its parser).
  emr_entry_point_arguments = ["--date", "today", "--env", "emr", "--settings", local.pipeline_settings_json]

  # EMR 7.12 ships Delta 3.3.2's jars; the PostgreSQL driver is a release artifact. One spark.jars
  # (a separate --jars would replace it). Python: the packed virtualenv (Python 3.11, the project's
  # pinned dependencies), and the wheel itself on the path.
  emr_spark_submit_parameters = join(" ", [
    "--py-files ${local.wheel_uri}",
    "--conf spark.jars=/usr/share/aws/delta/lib/delta-spark.jar,/usr/share/aws/delta/lib/delta-storage.jar,${local.jdbc_jar_uri}",
    "--conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
    "--conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "--conf spark.archives=${local.emr_venv_uri}#environment",
    "--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=./environment/bin/python",
    "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python",
    "--conf spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python",
  ])

  # The StartJobRun request. Universal targets take the API's parameters in PascalCase. The client
  # token is the schedule's execution id, so a retried delivery does not start a second run.
  emr_start_job_run = {
    ApplicationId           = aws_emrserverless_application.spark.id
    ClientToken             = "<aws.scheduler.execution-id>"
    ExecutionRoleArn        = aws_iam_role.emr_job.arn
    Name                    = "${local.name}-daily"
    ExecutionTimeoutMinutes = var.job_timeout_minutes
    JobDriver = {
      SparkSubmit = {
        EntryPoint            = local.entry_script_uri
        EntryPointArguments   = local.emr_entry_point_arguments
        SparkSubmitParameters = local.emr_spark_submit_parameters
      }
    }
    ConfigurationOverrides = {
      MonitoringConfiguration = {
        CloudWatchLoggingConfiguration = {
          Enabled          = true
          LogGroupName     = aws_cloudwatch_log_group.emr.name
          EncryptionKeyArn = aws_kms_key.main.arn
        }
      }
    }
  }
}

resource "aws_scheduler_schedule" "emr_daily" {
  name        = "${local.name}-emr-daily"
  description = "Starts the daily CoreTelecoms EMR Serverless job run (enabled when orchestrator = emr)"
  group_name  = "default"

  schedule_expression          = var.schedule_cron
  schedule_expression_timezone = "UTC"
  state                        = var.orchestrator == "emr" ? "ENABLED" : "DISABLED"
  kms_key_arn                  = aws_kms_key.main.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = "arn:${local.partition}:scheduler:::aws-sdk:emrserverless:startJobRun"
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode(local.emr_start_job_run)

    # StartJobRun throttled or refused: retried for an hour (the client token keeps it to one run),
    # then parked in the dead-letter queue, which alarms (monitoring.tf).
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 5
    }

    dead_letter_config {
      arn = aws_sqs_queue.scheduler_dlq.arn
    }
  }
}

resource "aws_sqs_queue" "scheduler_dlq" {
  name                      = "${local.name}-scheduler-dlq"
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600 # 14 days, the maximum
}
