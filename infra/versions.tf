# Versions and state.
#
# The state lives in S3 (encrypted, locked). The backend block is deliberately partial: bucket, key,
# region and the lock are given at `terraform init` time so no account data is committed here:
#
#   terraform init -backend-config=backend.hcl      # see backend.hcl.example
#
# with, for Terraform >= 1.10, `use_lockfile = true` (S3-native locking), or for older versions a
# `dynamodb_table = "<lock table>"` whose partition key is `LockID` (string).
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.80+: every argument used here (lifecycle transition_default_minimum_object_size, RDS-managed
      # master passwords, EMR Serverless network configuration, EventBridge Scheduler) exists; < 6.0
      # keeps the 5.x behaviour this configuration was written against. Commit .terraform.lock.hcl.
      version = "~> 5.80"
    }
  }

  backend "s3" {
    encrypt = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
