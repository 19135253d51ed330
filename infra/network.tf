# Network: the jobs and the database live in existing private subnets of an existing VPC. Two
# security groups: one for everything the jobs run on (Glue connection ENIs, EMR Serverless workers),
# one for the database, which only the jobs reach.

data "aws_vpc" "this" {
  id = var.vpc_id
}

data "aws_subnet" "private" {
  for_each = toset(var.private_subnet_ids)
  id       = each.value
}

resource "aws_security_group" "jobs" {
  #checkov:skip=CKV2_AWS_5:Attached to the Glue NETWORK connection (glue.tf) and the EMR Serverless application's network configuration (emr_serverless.tf); checkov's list of attaching resource types has neither.
  name        = "${local.name}-jobs"
  description = "CoreTelecoms Spark jobs (Glue connection, EMR Serverless): no inbound but from each other"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${local.name}-jobs" }
}

# AWS Glue requires the connection's security group to let its workers reach each other on all TCP
# ports (a self-referencing rule); EMR Serverless workers share the group.
resource "aws_vpc_security_group_ingress_rule" "jobs_from_jobs" {
  #checkov:skip=CKV_AWS_24:The source is this security group itself (referenced_security_group_id), not 0.0.0.0/0; checkov does not read that attribute and counts the rule as open to the world.
  #checkov:skip=CKV_AWS_25:The source is this security group itself (referenced_security_group_id), not 0.0.0.0/0; checkov does not read that attribute and counts the rule as open to the world.
  #checkov:skip=CKV_AWS_260:The source is this security group itself (referenced_security_group_id), not 0.0.0.0/0; checkov does not read that attribute and counts the rule as open to the world.
  security_group_id            = aws_security_group.jobs.id
  referenced_security_group_id = aws_security_group.jobs.id
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  description                  = "Spark driver and executors of one job run (Glue requires this self-reference)"
}

resource "aws_vpc_security_group_egress_rule" "jobs_to_jobs" {
  security_group_id            = aws_security_group.jobs.id
  referenced_security_group_id = aws_security_group.jobs.id
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  description                  = "Spark driver and executors of one job run"
}

# HTTPS out: S3 (through the VPC's gateway endpoint, still addressed by public IPs), Secrets Manager,
# KMS, STS, CloudWatch and Glue APIs, PyPI for Glue's --additional-python-modules, the Google Sheets
# API and the Slack webhook (through the NAT). Only 443: no other port leaves the VPC.
resource "aws_vpc_security_group_egress_rule" "jobs_https" {
  security_group_id = aws_security_group.jobs.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS to AWS APIs, PyPI, Google Sheets API and Slack"
}

resource "aws_vpc_security_group_egress_rule" "jobs_to_conformance_db" {
  security_group_id            = aws_security_group.jobs.id
  referenced_security_group_id = aws_security_group.conformance_db.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL: the conformance database"
}

resource "aws_vpc_security_group_egress_rule" "jobs_to_source_db" {
  for_each = toset(var.source_db_cidr_blocks)

  security_group_id = aws_security_group.jobs.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  description       = "PostgreSQL: the source web-forms database"
}

resource "aws_security_group" "conformance_db" {
  name        = "${local.name}-conformance-db"
  description = "CoreTelecoms conformance PostgreSQL: 5432 from the jobs only, nothing out"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${local.name}-conformance-db" }
}

resource "aws_vpc_security_group_ingress_rule" "conformance_db_from_jobs" {
  security_group_id            = aws_security_group.conformance_db.id
  referenced_security_group_id = aws_security_group.jobs.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL from the Spark jobs"
}
