# Names and ARNs the deploy step and the operators need. No secret values, passwords or connection
# strings: secrets are referenced by id and read with the CLI by whoever is allowed to.

output "lake_bucket" {
  description = "Lake bucket; the lake is s3a://<bucket>/lake."
  value       = aws_s3_bucket.lake.bucket
}

output "artifacts_bucket" {
  description = "Upload `make dist` output here, under artifacts/<version>/ (see main.tf for the layout)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "artifacts_prefix" {
  description = "Prefix of the release this configuration runs."
  value       = local.artifacts_prefix
}

output "data_docs_bucket" {
  description = "Great Expectations Data Docs site bucket."
  value       = aws_s3_bucket.data_docs.bucket
}

output "access_logs_bucket" {
  description = "S3 server access logs of the other buckets."
  value       = aws_s3_bucket.access_logs.bucket
}

output "kms_key_arn" {
  description = "The pipeline's KMS key."
  value       = aws_kms_key.main.arn
}

output "glue_job_role_arn" {
  description = "Role of the Glue jobs (grant it read access in a cross-account landing bucket's policy)."
  value       = aws_iam_role.glue_job.arn
}

output "emr_job_role_arn" {
  description = "Role of the EMR Serverless job runs (grant it read access in a cross-account landing bucket's policy)."
  value       = aws_iam_role.emr_job.arn
}

output "glue_job_names" {
  description = "Glue jobs by scope."
  value       = { for scope, job in aws_glue_job.pipeline : scope => job.name }
}

output "glue_workflow_name" {
  description = "The daily Glue workflow."
  value       = aws_glue_workflow.daily.name
}

output "emr_application_id" {
  description = "EMR Serverless application id (for manual `aws emr-serverless start-job-run`)."
  value       = aws_emrserverless_application.spark.id
}

output "emr_schedule_name" {
  description = "EventBridge Scheduler schedule of the daily EMR Serverless run."
  value       = aws_scheduler_schedule.emr_daily.name
}

output "pipeline_settings_json" {
  description = "The --settings value the scheduled runs pass (bucket locations and secret ids only), for manual runs."
  value       = local.pipeline_settings_json
}

output "pipeline_secret_ids" {
  description = "Secrets Manager ids whose values an operator sets (README: Secret values)."
  value       = { for key, secret in aws_secretsmanager_secret.pipeline : key => secret.name }
}

output "conformance_db_address" {
  description = "Host name of the conformance database (private)."
  value       = aws_db_instance.conformance.address
}

output "conformance_db_port" {
  description = "Port of the conformance database."
  value       = aws_db_instance.conformance.port
}

output "conformance_db_name" {
  description = "Name of the conformance database."
  value       = aws_db_instance.conformance.db_name
}

output "conformance_db_master_secret_arn" {
  description = "ARN of the RDS-managed secret of the master user (administration only; the job roles cannot read it)."
  value       = aws_db_instance.conformance.master_user_secret[0].secret_arn
}

output "alerts_topic_arn" {
  description = "SNS topic of every alert (subscribe on-call channels here)."
  value       = aws_sns_topic.alerts.arn
}
