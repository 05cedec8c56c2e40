locals {
  # Selector labels: every Vigil pod has the first, each role adds its component. Object
  # metadata also carries part-of (kustomize's `labels` entry in base).
  selector = { "app.kubernetes.io/name" = "vigil" }
  part_of  = { "app.kubernetes.io/part-of" = "vigil" }

  api_selector      = merge(local.selector, { "app.kubernetes.io/component" = "api" })
  worker_selector   = merge(local.selector, { "app.kubernetes.io/component" = "worker" })
  migrate_selector  = merge(local.selector, { "app.kubernetes.io/component" = "migrate" })
  postgres_selector = merge(local.selector, { "app.kubernetes.io/component" = "postgres" })

  # Non-secret settings of every role. The ConfigMap's name carries a hash of them, as
  # kustomize's generator does, so that a changed value rolls the pods.
  config = merge({
    VIGIL_LOG_FORMAT            = "json"
    VIGIL_LOG_LEVEL             = var.log_level
    VIGIL_WORKER_METRICS_HOST   = "0.0.0.0"
    VIGIL_WORKER_METRICS_PORT   = "9100"
    VIGIL_SESSION_COOKIE_SECURE = "true"
  }, var.extra_config)
  api_hosts = { "ingress-host" = var.ingress_host }

  # The Host names the API answers to (base/api.yaml): the ingress host, the Service's names
  # (from other pods), localhost for port-forward, and the pod's IP, by which Prometheus
  # scrapes it. The kubelet expands $(VAR) from variables defined above it in `env`.
  allowed_hosts = join(",", [
    "$(INGRESS_HOST)",
    "vigil-api",
    "vigil-api.$(POD_NAMESPACE)",
    "vigil-api.$(POD_NAMESPACE).svc",
    "vigil-api.$(POD_NAMESPACE).svc.cluster.local",
    "localhost",
    "127.0.0.1",
    "$(POD_IP)",
  ])

  scrape_annotations = {
    api    = { "prometheus.io/scrape" = "true", "prometheus.io/port" = "8000", "prometheus.io/path" = "/metrics" }
    worker = { "prometheus.io/scrape" = "true", "prometheus.io/port" = "9100", "prometheus.io/path" = "/metrics" }
  }

  # What the workers may not reach (network.tf).
  metadata_ranges_v4 = var.worker_deny_metadata ? ["169.254.0.0/16"] : []
  metadata_ranges_v6 = var.worker_deny_metadata ? ["fe80::/10", "fd00:ec2::254/128"] : []

  initial_admin = var.initial_admin_password_file != null
}
