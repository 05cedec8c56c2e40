# The workers: they claim due checks with SKIP LOCKED, so replicas share the targets, and serve
# /metrics and /healthz on their own port (VIGIL_WORKER_METRICS_PORT) and nothing else.
resource "kubernetes_deployment_v1" "worker" {
  metadata {
    name      = "vigil-worker"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.worker_selector, local.part_of)
  }

  spec {
    replicas = var.worker_replicas
    selector {
      match_labels = local.worker_selector
    }

    template {
      metadata {
        labels      = local.worker_selector
        annotations = local.scrape_annotations.worker
      }

      spec {
        automount_service_account_token = false
        # Longer than the worker's own grace (VIGIL_WORKER_GRACE_S, 20 s), in which it finishes
        # running checks and flushes their results after SIGTERM.
        termination_grace_period_seconds = 30

        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
          # ICMP checks use unprivileged SOCK_DGRAM sockets, which this "safe" sysctl opens to
          # every group; no capability is added (a non-root process would not get it).
          sysctl {
            name  = "net.ipv4.ping_group_range"
            value = "0 2147483647"
          }
        }

        container {
          name    = "worker"
          image   = var.image
          command = ["vigil", "worker"]

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

          port {
            name           = "metrics"
            container_port = 9100
          }

          readiness_probe {
            http_get {
              path = "/healthz"
              port = "metrics"
            }
            period_seconds    = 10
            timeout_seconds   = 3
            failure_threshold = 3
          }
          liveness_probe {
            http_get {
              path = "/healthz"
              port = "metrics"
            }
            initial_delay_seconds = 10
            period_seconds        = 10
            timeout_seconds       = 3
            failure_threshold     = 6
          }

          resources {
            requests = var.worker_resources.requests
            limits   = var.worker_resources.limits
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
        }

        volume {
          name = "tmp"
          empty_dir {
            size_limit = "64Mi"
          }
        }
      }
    }
  }

  depends_on = [kubernetes_job_v1.migrate]
}

resource "kubernetes_pod_disruption_budget_v1" "worker" {
  metadata {
    name      = "vigil-worker"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    min_available = 1
    selector {
      match_labels = local.worker_selector
    }
  }
}
