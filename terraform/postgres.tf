# An in-cluster PostgreSQL for trials (create_database = true), like
# kustomize/components/postgres: one replica, its own volume, a generated password read from a
# file, a high non-root uid, and a NetworkPolicy that lets only Vigil's roles in and nothing out.

resource "random_password" "postgres" {
  count = var.create_database ? 1 : 0

  length  = 32
  special = false
}

resource "kubernetes_secret_v1" "postgres" {
  count = var.create_database ? 1 : 0

  metadata {
    name      = "vigil-postgres"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }
  data = {
    POSTGRES_PASSWORD = random_password.postgres[0].result
  }
}

resource "kubernetes_stateful_set_v1" "postgres" {
  count = var.create_database ? 1 : 0

  metadata {
    name      = "vigil-postgres"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.postgres_selector, local.part_of)
  }

  spec {
    service_name = "vigil-postgres"
    replicas     = 1
    selector {
      match_labels = local.postgres_selector
    }

    template {
      metadata {
        labels = local.postgres_selector
      }

      spec {
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = 10999
          run_as_group    = 10999
          fs_group        = 10999
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name  = "postgres"
          image = var.postgres_image

          env {
            name  = "POSTGRES_USER"
            value = "vigil"
          }
          env {
            name  = "POSTGRES_DB"
            value = "vigil"
          }
          env {
            name  = "POSTGRES_PASSWORD_FILE"
            value = "/run/secrets/postgres/password"
          }
          # A subdirectory: the volume's root may hold lost+found, which initdb refuses.
          env {
            name  = "PGDATA"
            value = "/var/lib/postgresql/data/pgdata"
          }

          port {
            name           = "postgres"
            container_port = 5432
          }

          readiness_probe {
            exec {
              command = ["pg_isready", "-U", "vigil", "-d", "vigil", "-h", "127.0.0.1"]
            }
            period_seconds    = 5
            timeout_seconds   = 3
            failure_threshold = 3
          }
          liveness_probe {
            exec {
              command = ["pg_isready", "-U", "vigil", "-d", "vigil", "-h", "127.0.0.1"]
            }
            initial_delay_seconds = 30
            period_seconds        = 10
            timeout_seconds       = 5
            failure_threshold     = 6
          }

          resources {
            requests = { cpu = "100m", memory = "256Mi" }
            limits   = { cpu = "1", memory = "1Gi" }
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "data"
            mount_path = "/var/lib/postgresql/data"
          }
          volume_mount {
            name       = "run"
            mount_path = "/var/run/postgresql"
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
          volume_mount {
            name       = "password"
            mount_path = "/run/secrets/postgres"
            read_only  = true
          }
        }

        volume {
          name = "run"
          empty_dir {}
        }
        volume {
          name = "tmp"
          empty_dir {}
        }
        volume {
          name = "password"
          secret {
            secret_name = kubernetes_secret_v1.postgres[0].metadata[0].name
            items {
              key  = "POSTGRES_PASSWORD"
              path = "password"
            }
          }
        }
      }
    }

    volume_claim_template {
      metadata {
        name = "data"
      }
      spec {
        access_modes = ["ReadWriteOnce"]
        resources {
          requests = {
            storage = var.postgres_storage
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "postgres" {
  count = var.create_database ? 1 : 0

  metadata {
    name      = "vigil-postgres"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.postgres_selector, local.part_of)
  }

  spec {
    selector = local.postgres_selector
    port {
      name        = "postgres"
      port        = 5432
      target_port = "postgres"
    }
  }
}

resource "kubernetes_network_policy_v1" "postgres" {
  count = var.create_database ? 1 : 0

  metadata {
    name      = "vigil-postgres"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    pod_selector {
      match_labels = local.postgres_selector
    }
    policy_types = ["Ingress", "Egress"]

    ingress {
      from {
        pod_selector {
          match_expressions {
            key      = "app.kubernetes.io/name"
            operator = "In"
            values   = ["vigil"]
          }
          match_expressions {
            key      = "app.kubernetes.io/component"
            operator = "In"
            values   = ["api", "worker", "migrate"]
          }
        }
      }
      ports {
        protocol = "TCP"
        port     = 5432
      }
    }
  }
}
