# Secrets the pipeline reads at run time, by id (settings postgres.secret_id, postgres.source_secret_id,
# agents.service_account_secret_id, notifications.slack_webhook_secret_id).
#
# Terraform creates the containers only - encrypted with the pipeline key - and never a value: there
# is deliberately no aws_secretsmanager_secret_version here, so no secret ever reaches a plan, the
# state or a commit. Values are put by an operator (README: "Secret values"), e.g.
#
#   aws secretsmanager put-secret-value --secret-id <prefix>/conformance-db \
#     --secret-string file://conformance-db.json        # a 0600 file, deleted afterwards
#
# The database master user's secret is not here: RDS creates, owns and rotates it (rds.tf), and the
# job roles cannot read it.

locals {
  secrets = {
    conformance_db = {
      name        = "${local.name}/conformance-db"
      description = "Pipeline user of the conformance database: JSON {\"username\", \"password\", \"host\", \"port\", \"dbname\"} (the RDS secret shape)."
    }
    source_db = {
      name        = "${local.name}/source-web-forms-db"
      description = "Read-only user of the source web-forms PostgreSQL: JSON {\"username\", \"password\", \"host\", \"port\", \"dbname\"}."
    }
    google_service_account = {
      name        = "${local.name}/google-service-account"
      description = "Google service-account key JSON with read access to the agents spreadsheet."
    }
    slack_webhook = {
      name        = "${local.name}/slack-webhook-url"
      description = "Slack incoming-webhook URL for run notifications (the URL is the credential)."
    }
  }
}

resource "aws_secretsmanager_secret" "pipeline" {
  for_each = local.secrets
  #checkov:skip=CKV2_AWS_57:No automatic rotation: these hold credentials issued by other parties (the source DB team, Google, Slack) or a database user whose rotation would need a VPC Lambda for one daily batch; they are rotated by the runbook in infra/README.md. The database master password is rotated automatically by RDS.

  name                    = each.value.name
  description             = each.value.description
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 30
}
