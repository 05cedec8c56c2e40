# Settings and secrets. Everything secret here is also in the Terraform state (the database URL,
# the generated server secret and PostgreSQL password, the first admin's password): keep the
# state in an encrypted backend that only operators can read.

resource "kubernetes_config_map_v1" "config" {
  metadata {
    name      = "vigil-config-${substr(sha256(jsonencode(local.config)), 0, 10)}"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }
  data = local.config

  # A new name for new settings: create it before the Deployments move to it.
  lifecycle {
    create_before_destroy = true
  }
}

resource "kubernetes_config_map_v1" "api_hosts" {
  metadata {
    name      = "vigil-api-hosts-${substr(sha256(jsonencode(local.api_hosts)), 0, 10)}"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }
  data = local.api_hosts

  lifecycle {
    create_before_destroy = true
  }
}

resource "kubernetes_secret_v1" "database" {
  metadata {
    name      = "vigil-database"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }
  data = {
    VIGIL_DATABASE_URL = var.create_database ? "postgresql://vigil:${one(random_password.postgres[*].result)}@vigil-postgres:5432/vigil" : var.database_url
  }
}

# The server secret: it keys the stored hashes of tokens and sessions and signs CSRF tokens
# (docs/security.md). Generated once; `terraform apply -replace=random_password.secret_key`
# rotates it (and logs everybody out).
resource "random_password" "secret_key" {
  length  = 48
  special = false
}

resource "kubernetes_secret_v1" "secret_key" {
  metadata {
    name      = "vigil-secret-key"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }
  data = {
    VIGIL_SECRET_KEY = random_password.secret_key.result
  }
}

resource "kubernetes_secret_v1" "initial_admin" {
  count = local.initial_admin ? 1 : 0

  metadata {
    name      = "vigil-initial-admin"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }
  data = {
    password = file(var.initial_admin_password_file)
  }
}
