# The API: stateless, 2 to 6 replicas (HorizontalPodAutoscaler) behind one Service.
resource "kubernetes_deployment_v1" "api" {
  metadata {
    name      = "vigil-api"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.api_selector, local.part_of)
  }

  spec {
    # No replicas: the HorizontalPodAutoscaler owns the count.
    selector {
      match_labels = local.api_selector
    }

    template {
      metadata {
        labels      = local.api_selector
        annotations = local.scrape_annotations.api
      }

      spec {
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name    = "api"
          image   = var.image
          command = ["vigil", "api", "--host", "0.0.0.0", "--port", "8000"]

          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.config.metadata[0].name
            }
          }
          env {
            name = "VIGIL_DATABASE_URL"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.database.metadata[0].name
                key  = "VIGIL_DATABASE_URL"
              }
            }
          }
          # Only the API needs the server secret; the old key(s) while rotating.
          env {
            name = "VIGIL_SECRET_KEY"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.secret_key.metadata[0].name
                key  = "VIGIL_SECRET_KEY"
              }
            }
          }
          env {
            name = "VIGIL_SECRET_KEY_PREVIOUS"
            value_from {
              secret_key_ref {
                name     = kubernetes_secret_v1.secret_key.metadata[0].name
                key      = "VIGIL_SECRET_KEY_PREVIOUS"
                optional = true
              }
            }
          }
          env {
            name = "POD_IP"
            value_from {
              field_ref {
                field_path = "status.podIP"
              }
            }
          }
          env {
            name = "POD_NAMESPACE"
            value_from {
              field_ref {
                field_path = "metadata.namespace"
              }
            }
          }
          env {
            name = "INGRESS_HOST"
            value_from {
              config_map_key_ref {
                name = kubernetes_config_map_v1.api_hosts.metadata[0].name
                key  = "ingress-host"
              }
            }
          }
          env {
            name  = "VIGIL_API_ALLOWED_HOSTS"
            value = local.allowed_hosts
          }
          # The first admin's password file (var.initial_admin_password_file), mounted as
          # kustomize/components/initial-admin mounts it.
          dynamic "env" {
            for_each = local.initial_admin ? [1] : []
            content {
              name  = "VIGIL_INITIAL_ADMIN_PASSWORD_FILE"
              value = "/etc/vigil/initial-admin/password"
            }
          }

          port {
            name           = "http"
            container_port = 8000
          }

          # Ready only while the database answers; alive as long as the process serves HTTP.
          readiness_probe {
            http_get {
              path = "/readyz"
              port = "http"
            }
            period_seconds    = 5
            timeout_seconds   = 3
            failure_threshold = 3
          }
          liveness_probe {
            http_get {
              path = "/healthz"
              port = "http"
            }
            initial_delay_seconds = 5
            period_seconds        = 10
            timeout_seconds       = 3
            failure_threshold     = 6
          }

          resources {
            requests = var.api_resources.requests
            limits   = var.api_resources.limits
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
          dynamic "volume_mount" {
            for_each = local.initial_admin ? [1] : []
            content {
              name       = "initial-admin"
              mount_path = "/etc/vigil/initial-admin"
              read_only  = true
            }
          }
        }

        volume {
          name = "tmp"
          empty_dir {
            size_limit = "64Mi"
          }
        }
        dynamic "volume" {
          for_each = local.initial_admin ? [1] : []
          content {
            name = "initial-admin"
            secret {
              secret_name = "vigil-initial-admin"
              items {
                key  = "password"
                path = "password"
              }
            }
          }
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [spec[0].replicas]
  }

  depends_on = [kubernetes_job_v1.migrate, kubernetes_secret_v1.initial_admin]
}

resource "kubernetes_service_v1" "api" {
  metadata {
    name      = "vigil-api"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.api_selector, local.part_of)
  }

  spec {
    selector = local.api_selector
    port {
      name        = "http"
      port        = 8000
      target_port = "http"
    }
  }
}

resource "kubernetes_horizontal_pod_autoscaler_v2" "api" {
  metadata {
    name      = "vigil-api"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = kubernetes_deployment_v1.api.metadata[0].name
    }
    min_replicas = var.api_min_replicas
    max_replicas = var.api_max_replicas
    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = var.api_target_cpu_utilization
        }
      }
    }
  }
}

resource "kubernetes_pod_disruption_budget_v1" "api" {
  metadata {
    name      = "vigil-api"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    min_available = 1
    selector {
      match_labels = local.api_selector
    }
  }
}
