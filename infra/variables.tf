# Inputs. Nothing here is a secret: secret *values* never pass through Terraform (secrets.tf).

# ---------------------------------------------------------------------------------------------------
# Where and what
# ---------------------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region of every resource (and of the Glue/EMR jobs)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name; one deployment per prefix (e.g. coretelecoms, coretelecoms-staging)."
  type        = string
  default     = "coretelecoms"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix: 3-31 lower-case letters, digits and dashes, starting with a letter (it is part of bucket names)."
  }
}

variable "environment" {
  description = "Environment name, used in tags (prod, staging, ...)."
  type        = string
  default     = "prod"
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------------
# Network: an existing VPC (this stack never creates one)
# ---------------------------------------------------------------------------------------------------

variable "vpc_id" {
  description = "Existing VPC of the jobs and the database."
  type        = string
}

variable "private_subnet_ids" {
  description = <<-EOT
    Existing private subnets (at least two, in different AZs: the RDS subnet group needs them). They need
    a route to S3 (gateway endpoint) and to the internet through a NAT (Google Sheets API, Slack), or
    interface endpoints for Secrets Manager, KMS, CloudWatch, Glue and STS.
  EOT
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids: at least two subnets in different availability zones."
  }
}

# ---------------------------------------------------------------------------------------------------
# Sources (owned by other teams)
# ---------------------------------------------------------------------------------------------------

variable "source_bucket_name" {
  description = "The landing (source) S3 bucket with customers/, call logs/ and social_medias/ (settings `landing`). If it is in another account, its bucket policy must grant the job roles (outputs) read access."
  type        = string
}

variable "source_bucket_kms_key_arns" {
  description = "KMS keys that encrypt the source bucket's objects, if any (the job roles may decrypt with them)."
  type        = list(string)
  default     = []
}

variable "source_db_cidr_blocks" {
  description = "CIDR blocks of the source web-forms PostgreSQL; the jobs may open 5432 to them and nothing else."
  type        = list(string)
  default     = []
}

variable "agents_spreadsheet_id" {
  description = "Id of the Google Sheet holding the agents (settings `agents.spreadsheet_id`; an id, not a secret)."
  type        = string
}

# ---------------------------------------------------------------------------------------------------
# Release: what `make dist` builds and the deploy step uploads under s3://<artifacts>/artifacts/<version>/
# ---------------------------------------------------------------------------------------------------

variable "artifact_version" {
  description = "Version of the coretelecoms wheel to run (artifacts/<version>/ in the artifacts bucket)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+([a-z0-9.+-]*)$", var.artifact_version))
    error_message = "artifact_version: a package version such as 0.1.0."
  }
}

variable "glue_additional_python_modules" {
  description = "Glue's --additional-python-modules: the content of dist/glue-additional-python-modules.txt written by `make dist` (pinned, comma-separated)."
  type        = string

  validation {
    condition     = length(trimspace(var.glue_additional_python_modules)) > 0 && !can(regex("\\s", trimspace(var.glue_additional_python_modules)))
    error_message = "glue_additional_python_modules: a comma-separated list without spaces, e.g. the content of dist/glue-additional-python-modules.txt."
  }
}

variable "postgres_jdbc_jar" {
  description = "The PostgreSQL JDBC driver inside artifacts/<version>/ (dist/jars/... of `make dist`)."
  type        = string
  default     = "jars/postgresql-42.7.4.jar"
}

# ---------------------------------------------------------------------------------------------------
# Schedule and compute
# ---------------------------------------------------------------------------------------------------

variable "orchestrator" {
  description = "Which platform runs the daily schedule: glue (workflow) or emr (EMR Serverless via EventBridge Scheduler). Both are deployed and can be run by hand; only one is scheduled, so two runs never write the same lake at once."
  type        = string
  default     = "glue"

  validation {
    condition     = contains(["glue", "emr"], var.orchestrator)
    error_message = "orchestrator: glue or emr."
  }
}

variable "schedule_cron" {
  description = "Daily run, UTC, in the cron() syntax shared by Glue triggers and EventBridge Scheduler."
  type        = string
  default     = "cron(0 6 * * ? *)"
}

variable "job_timeout_minutes" {
  description = "A run that takes longer is stopped (Glue timeout / EMR executionTimeoutMinutes)."
  type        = number
  default     = 240
}

variable "glue_worker_type" {
  description = "Glue worker type (G.1X: 4 vCPU, 16 GB; G.2X: 8 vCPU, 32 GB; ...)."
  type        = string
  default     = "G.1X"
}

variable "glue_number_of_workers" {
  description = "Glue workers per job run (the driver included)."
  type        = number
  default     = 10
}

variable "emr_release_label" {
  description = "EMR Serverless release (SPEC §1: EMR 7.12 runs Spark 3.5.6 and ships Delta 3.3.2)."
  type        = string
  default     = "emr-7.12.0"
}

variable "emr_architecture" {
  description = "CPU architecture of the EMR Serverless application; the packed virtualenv must be built for the same one."
  type        = string
  default     = "X86_64"
}

variable "emr_maximum_capacity" {
  description = "Upper bound of what the EMR Serverless application may use at once (a cost guard)."
  type = object({
    cpu    = string
    memory = string
    disk   = string
  })
  default = {
    cpu    = "48 vCPU"
    memory = "192 GB"
    disk   = "1000 GB"
  }
}

variable "emr_idle_timeout_minutes" {
  description = "The EMR Serverless application stops after this long without a job run."
  type        = number
  default     = 15
}

# ---------------------------------------------------------------------------------------------------
# Conformance database (RDS PostgreSQL)
# ---------------------------------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class (Performance Insights needs db.t4g.medium or larger)."
  type        = string
  default     = "db.t4g.large"
}

variable "db_engine_version" {
  description = "PostgreSQL major version (SPEC §1: 15 or 16); RDS picks and upgrades the minor version."
  type        = string
  default     = "16"

  validation {
    condition     = contains(["15", "16"], split(".", var.db_engine_version)[0])
    error_message = "db_engine_version: PostgreSQL 15 or 16 (SPEC §1)."
  }
}

variable "db_allocated_storage_gb" {
  description = "Initial storage (GiB)."
  type        = number
  default     = 50
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling (GiB)."
  type        = number
  default     = 200
}

variable "db_multi_az" {
  description = "A standby in a second AZ (production: true)."
  type        = bool
  default     = true
}

variable "db_name" {
  description = "Name of the conformance database."
  type        = string
  default     = "coretelecoms"
}

variable "db_master_username" {
  description = "Master user; its password is generated and rotated by RDS in Secrets Manager (never in the state)."
  type        = string
  default     = "coretelecoms_admin"
}

variable "db_backup_retention_days" {
  description = "Automated daily backups kept this many days (the checklist asks for 7)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days: 7 to 35."
  }
}

variable "db_backup_window" {
  description = "Daily backup window (UTC), clear of the pipeline's run."
  type        = string
  default     = "02:00-03:00"
}

variable "db_maintenance_window" {
  description = "Weekly maintenance window (UTC)."
  type        = string
  default     = "sun:03:30-sun:04:30"
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database (turn off only to tear an environment down)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------------
# Retention and alerting
# ---------------------------------------------------------------------------------------------------

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the job, database and scheduler logs."
  type        = number
  default     = 365
}

variable "access_log_retention_days" {
  description = "S3 server access logs are kept this many days."
  type        = number
  default     = 365
}

variable "noncurrent_version_retention_days" {
  description = "Overwritten or deleted object versions stay recoverable this many days (all buckets)."
  type        = number
  default     = 30
}

variable "alarm_email_addresses" {
  description = "Addresses subscribed to the alerts topic (each confirms by mail)."
  type        = list(string)
  default     = []
}

variable "max_run_seconds" {
  description = "Alarm when one run takes longer than this (CoreTelecoms/Pipeline RunSeconds)."
  type        = number
  default     = 7200
}

variable "quarantine_rate_threshold" {
  description = "Alarm when the share of complaints quarantined as orphans in a run exceeds this (CoreTelecoms/Pipeline QuarantineRate, 0-1)."
  type        = number
  default     = 0.02
}

variable "db_cpu_threshold_percent" {
  description = "Alarm when the database CPU stays above this."
  type        = number
  default     = 80
}

variable "db_free_storage_threshold_bytes" {
  description = "Alarm when the database's free storage falls below this."
  type        = number
  default     = 10737418240 # 10 GiB
}

variable "db_freeable_memory_threshold_bytes" {
  description = "Alarm when the database's freeable memory falls below this."
  type        = number
  default     = 268435456 # 256 MiB
}

variable "lake_daily_growth_threshold_bytes" {
  description = "Alarm when the lake bucket's standard storage grows by more than this in a day (a runaway re-ingestion; a normal day adds far less)."
  type        = number
  default     = 21474836480 # 20 GiB
}
