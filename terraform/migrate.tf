# Migrations run as their own Job, before the API and the worker start or roll (they depend on
# it), never at application start-up. Terraform waits for the Job to complete. A Job's pod
# template cannot change in place, so a new image replaces the Job; ttlSecondsAfterFinished
# removes a finished one, and the next `terraform apply` then creates it again, which re-runs
# `vigil migrate` (a no-op when nothing is pending).
resource "kubernetes_job_v1" "migrate" {
  metadata {
    name      = "vigil-migrate"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.migrate_selector, local.part_of)
  }

  spec {
    ttl_seconds_after_finished = 600
    backoff_limit              = 6
    active_deadline_seconds    = 900

    template {
      metadata {
        labels = local.migrate_selector
      }

      spec {
        restart_policy                  = "Never"
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
          name    = "migrate"
          image   = var.image
          command = ["vigil", "migrate"]

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

          resources {
            requests = var.migrate_resources.requests
            limits   = var.migrate_resources.limits
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
            size_limit = "16Mi"
          }
        }
      }
    }
  }

  wait_for_completion = true

  timeouts {
    create = "15m"
    update = "15m"
  }

  # The in-cluster database must be up first (when there is one).
  depends_on = [kubernetes_service_v1.postgres, kubernetes_stateful_set_v1.postgres]
}
