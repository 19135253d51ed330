# AWS Glue 5.1: two jobs running the one entry script, chained daily in a workflow.
#
#   SCHEDULED trigger (var.schedule_cron) -> <prefix>-dimensions (--scope dimensions)
#   CONDITIONAL trigger, dimensions SUCCEEDED -> <prefix>-complaints (--scope complaints)
#
# Dimensions first, so complaints are checked against today's customers and agents (fewer orphans).
# Glue cannot template dates: the runs pass `--date today` (UTC, resolved by the script when it
# starts). A backfill is a manual run with `--arguments '{"--date":"2025-06-01"}'`, which overrides
# the default argument.

locals {
  glue_security_configuration = "${local.name}-glue"

  glue_jobs = {
    dimensions = "CoreTelecoms daily run, dimensions: customers and agents (bronze to PostgreSQL, SCD2)"
    complaints = "CoreTelecoms daily run, complaints: calls, social media, web forms, orphans, gold"
  }
}

# The jobs run inside the VPC (the conformance database is private): a NETWORK connection pins them
# to a private subnet with the jobs' security group.
resource "aws_glue_connection" "vpc" {
  name            = "${local.name}-vpc"
  description     = "CoreTelecoms jobs: private subnet and security group (no credentials)"
  connection_type = "NETWORK"

  physical_connection_requirements {
    subnet_id              = var.private_subnet_ids[0]
    availability_zone      = data.aws_subnet.private[var.private_subnet_ids[0]].availability_zone
    security_group_id_list = [aws_security_group.jobs.id]
  }
}

# Everything Glue writes on the jobs' behalf is encrypted with the pipeline key: S3 output, the
# CloudWatch logs (which is why the log group names carry this configuration's name, monitoring.tf)
# and job bookmarks (off here, but encrypted should anyone turn them on).
resource "aws_glue_security_configuration" "main" {
  name = local.glue_security_configuration

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = aws_kms_key.main.arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = aws_kms_key.main.arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = aws_kms_key.main.arn
    }
  }
}

resource "aws_glue_job" "pipeline" {
  for_each = local.glue_jobs

  name        = "${local.name}-${each.key}"
  description = each.value
  role_arn    = aws_iam_role.glue_job.arn

  glue_version      = "5.1"
  worker_type       = var.glue_worker_type
  number_of_workers = var.glue_number_of_workers
  execution_class   = "STANDARD"
  timeout           = var.job_timeout_minutes
  # No automatic retry: a failed run is looked at (alarm) and re-run; exit 3 ("input not ready")
  # would not be cured by an immediate retry either.
  max_retries = 0

  security_configuration = aws_glue_security_configuration.main.name
  connections            = [aws_glue_connection.vpc.name]

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = local.entry_script_uri
  }

  # One run at a time per job: two runs of one date would race on the same Delta tables.
  execution_property {
    max_concurrent_runs = 1
  }

  default_arguments = {
    # jobs/run_pipeline.py's own arguments (tests/infra checks each against its parser).
    "--date"     = "today"
    "--env"      = "glue"
    "--scope"    = each.key
    "--settings" = local.pipeline_settings_json

    # Glue's. The wheel is pure Python and importable from the archive (its package data is read with
    # importlib.resources); its pinned dependencies come through --additional-python-modules, which
    # omits what Glue 5.1 ships (lib/coretelecoms/dist.py).
    "--extra-py-files"            = local.wheel_uri
    "--additional-python-modules" = var.glue_additional_python_modules
    "--extra-jars"                = local.jdbc_jar_uri
    "--datalake-formats"          = "delta"
    # Glue reads one --conf key; further settings ride in its value, the documented way for Delta.
    "--conf"                             = "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog"
    "--job-language"                     = "python"
    "--job-bookmark-option"              = "job-bookmark-disable" # the pipeline is idempotent per date itself
    "--TempDir"                          = "s3://${aws_s3_bucket.lake.bucket}/_glue_temp/"
    "--enable-metrics"                   = "true"
    "--enable-observability-metrics"     = "true"
    "--enable-continuous-cloudwatch-log" = "true"
  }

  depends_on = [aws_cloudwatch_log_group.glue, aws_iam_role_policy.glue_job_platform]
}

resource "aws_glue_workflow" "daily" {
  name                = "${local.name}-daily"
  description         = "CoreTelecoms daily run: dimensions, then complaints"
  max_concurrent_runs = 1
}

resource "aws_glue_trigger" "daily" {
  name          = "${local.name}-daily-start"
  description   = "Starts the daily run (enabled when orchestrator = glue)"
  workflow_name = aws_glue_workflow.daily.name
  type          = "SCHEDULED"
  schedule      = var.schedule_cron
  enabled       = var.orchestrator == "glue"

  actions {
    job_name = aws_glue_job.pipeline["dimensions"].name
  }
}

resource "aws_glue_trigger" "complaints_after_dimensions" {
  name              = "${local.name}-complaints-after-dimensions"
  description       = "Complaints run once the dimensions run has succeeded"
  workflow_name     = aws_glue_workflow.daily.name
  type              = "CONDITIONAL"
  start_on_creation = true

  predicate {
    conditions {
      job_name         = aws_glue_job.pipeline["dimensions"].name
      state            = "SUCCEEDED"
      logical_operator = "EQUALS"
    }
  }

  actions {
    job_name = aws_glue_job.pipeline["complaints"].name
  }
}
