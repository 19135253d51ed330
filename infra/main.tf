# Shared facts and names. Each concern has its own file: network, kms, s3, rds, secrets, iam, glue,
# emr_serverless, monitoring.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name       = var.name_prefix
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  tags = merge(var.tags, {
    Project     = "coretelecoms"
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # Bucket names are global: the account and region make them unique without a random suffix.
  bucket_suffix = "${local.account_id}-${local.region}"

  # The lake's root inside the lake bucket (settings `lake` = s3a://<lake bucket>/lake). The lifecycle
  # rules of s3.tf spell their prefixes out in full under it (tests/infra checks they agree).
  lake_root = "lake"

  # One release's artifacts, as `make dist` builds them and the deploy step uploads them:
  #   dist/coretelecoms-<v>-py3-none-any.whl  -> artifacts/<v>/coretelecoms-<v>-py3-none-any.whl
  #   dist/jobs/run_pipeline.py               -> artifacts/<v>/run_pipeline.py
  #   dist/jars/postgresql-42.7.4.jar         -> artifacts/<v>/jars/postgresql-42.7.4.jar
  #   dist/emr-serverless/pyspark_venv.tar.gz -> artifacts/<v>/pyspark_venv.tar.gz
  # Deploying a new version is uploading these and `terraform apply -var artifact_version=<v>`;
  # rolling back is applying the previous version (its artifacts are still there).
  artifacts_prefix = "artifacts/${var.artifact_version}"
  artifacts_uri    = "s3://${aws_s3_bucket.artifacts.bucket}/${local.artifacts_prefix}"
  entry_script_uri = "${local.artifacts_uri}/run_pipeline.py"
  wheel_uri        = "${local.artifacts_uri}/coretelecoms-${var.artifact_version}-py3-none-any.whl"
  jdbc_jar_uri     = "${local.artifacts_uri}/${var.postgres_jdbc_jar}"
  emr_venv_uri     = "${local.artifacts_uri}/pyspark_venv.tar.gz"

  # The run's settings, passed to jobs/run_pipeline.py as `--settings <json>` on both platforms (Glue
  # cannot set environment variables). Keys are those of conf/glue.yaml and conf/emr.yaml (an unknown
  # key is a configuration error, exit 2; tests/infra checks them). Secrets are named by id only: the
  # job reads their values from Secrets Manager with its own role. `runs` is left to its default,
  # <lake>/_runs.
  pipeline_settings = {
    landing = "s3a://${var.source_bucket_name}"
    lake    = "s3a://${aws_s3_bucket.lake.bucket}/${local.lake_root}"
    # The Great Expectations Data Docs site, published by every run for review.
    data_docs = "s3a://${aws_s3_bucket.data_docs.bucket}"
    postgres = {
      secret_id        = aws_secretsmanager_secret.pipeline["conformance_db"].name
      source_secret_id = aws_secretsmanager_secret.pipeline["source_db"].name
    }
    agents = {
      spreadsheet_id            = var.agents_spreadsheet_id
      service_account_secret_id = aws_secretsmanager_secret.pipeline["google_service_account"].name
    }
    notifications = {
      slack_webhook_secret_id = aws_secretsmanager_secret.pipeline["slack_webhook"].name
    }
  }
  pipeline_settings_json = jsonencode(local.pipeline_settings)
}
