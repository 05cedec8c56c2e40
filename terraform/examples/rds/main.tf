# An optional example: a managed PostgreSQL on AWS RDS, whose URL is handed to the Vigil module.
#
#   terraform init
#   terraform apply -var region=eu-west-1 -var vpc_id=vpc-... -var 'subnet_ids=["subnet-a","subnet-b"]' \
#     -var 'client_cidr_blocks=["10.0.0.0/16"]' -var image=REGISTRY/vigil:0.1.0 \
#     -var ingress_host=vigil.example.com
#
# The database is Multi-AZ, encrypted with its own KMS key, accepts only TLS connections
# (rds.force_ssl) from client_cidr_blocks, keeps 7 days of backups and a final snapshot, and
# cannot be deleted while deletion_protection is on. Its master password is generated here and,
# like the URL built from it, kept in the Terraform state: use an encrypted backend.

provider "aws" {
  region = var.region
}

provider "kubernetes" {
  config_path = var.kubeconfig_path
}

data "aws_caller_identity" "current" {}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "aws_kms_key" "db" {
  description         = "Vigil's PostgreSQL (storage and Performance Insights)"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_db_subnet_group" "vigil" {
  name       = "vigil"
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "db" {
  name        = "vigil-db"
  description = "Vigil's PostgreSQL: port 5432 from the cluster only"
  vpc_id      = var.vpc_id

  ingress {
    description = "PostgreSQL from Vigil's pods"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = var.client_cidr_blocks
  }
}

# TLS only, and every statement slower than a second in the log.
resource "aws_db_parameter_group" "vigil" {
  name   = "vigil-postgres16"
  family = "postgres16"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
}

# Enhanced Monitoring publishes OS metrics through this role.
resource "aws_iam_role" "monitoring" {
  name = "vigil-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "vigil" {
  identifier     = "vigil"
  engine         = "postgres"
  engine_version = "16"
  instance_class = var.instance_class

  db_name  = "vigil"
  username = "vigil"
  password = random_password.db.result

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.db.arn

  db_subnet_group_name   = aws_db_subnet_group.vigil.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.vigil.name
  publicly_accessible    = false
  multi_az               = true

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  backup_retention_period             = 7
  copy_tags_to_snapshot               = true
  deletion_protection                 = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "vigil-final"

  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.db.arn
  performance_insights_retention_period = 7

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}

# sslmode=require encrypts the connection; verify-full would also need the RDS CA bundle in the
# image, which it does not carry.
module "vigil" {
  source = "../.."

  image        = var.image
  ingress_host = var.ingress_host
  database_url = "postgresql://vigil:${random_password.db.result}@${aws_db_instance.vigil.address}:${aws_db_instance.vigil.port}/vigil?sslmode=require"
}
