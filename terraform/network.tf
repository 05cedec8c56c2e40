# NetworkPolicies, the same as kustomize/components/network-policies: deny everything to and
# from Vigil's pods, then open what each role needs.

resource "kubernetes_network_policy_v1" "default_deny" {
  metadata {
    name      = "vigil-default-deny"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    pod_selector {
      match_labels = local.selector
    }
    policy_types = ["Ingress", "Egress"]
  }
}

# People through the ingress controller, and Prometheus, on the API's port.
resource "kubernetes_network_policy_v1" "api_ingress" {
  metadata {
    name      = "vigil-api-ingress"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    pod_selector {
      match_labels = local.api_selector
    }
    policy_types = ["Ingress"]

    ingress {
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.ingress_namespace }
        }
        pod_selector {
          match_labels = var.ingress_pod_labels
        }
      }
      ports {
        protocol = "TCP"
        port     = 8000
      }
    }
    ingress {
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.prometheus_namespace }
        }
        pod_selector {
          match_labels = var.prometheus_pod_labels
        }
      }
      ports {
        protocol = "TCP"
        port     = 8000
      }
    }
  }
}

# Nothing reaches a worker except Prometheus, on the metrics port.
resource "kubernetes_network_policy_v1" "worker_ingress" {
  metadata {
    name      = "vigil-worker-ingress"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    pod_selector {
      match_labels = local.worker_selector
    }
    policy_types = ["Ingress"]

    ingress {
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.prometheus_namespace }
        }
        pod_selector {
          match_labels = var.prometheus_pod_labels
        }
      }
      ports {
        protocol = "TCP"
        port     = 9100
      }
    }
  }
}

# The API and the migrate Job reach PostgreSQL (its port, wherever it is) and DNS, nothing else.
resource "kubernetes_network_policy_v1" "database_egress" {
  metadata {
    name      = "vigil-database-egress"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    pod_selector {
      match_expressions {
        key      = "app.kubernetes.io/name"
        operator = "In"
        values   = ["vigil"]
      }
      match_expressions {
        key      = "app.kubernetes.io/component"
        operator = "In"
        values   = ["api", "migrate"]
      }
    }
    policy_types = ["Egress"]

    egress {
      ports {
        protocol = "TCP"
        port     = 5432
      }
    }
    egress {
      to {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = "kube-system" }
        }
        pod_selector {
          match_labels = { "k8s-app" = "kube-dns" }
        }
      }
      ports {
        protocol = "UDP"
        port     = 53
      }
      ports {
        protocol = "TCP"
        port     = 53
      }
    }
  }
}

# The workers check targets anywhere, except (var.worker_deny_metadata) the cloud metadata
# ranges; PostgreSQL and DNS get their own rules because some CNIs (Cilium) never match pod
# addresses against an ipBlock.
resource "kubernetes_network_policy_v1" "worker_egress" {
  metadata {
    name      = "vigil-worker-egress"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.part_of
  }

  spec {
    pod_selector {
      match_labels = local.worker_selector
    }
    policy_types = ["Egress"]

    egress {
      to {
        ip_block {
          cidr   = "0.0.0.0/0"
          except = local.metadata_ranges_v4
        }
      }
      to {
        ip_block {
          cidr   = "::/0"
          except = local.metadata_ranges_v6
        }
      }
    }
    egress {
      ports {
        protocol = "TCP"
        port     = 5432
      }
    }
    egress {
      to {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = "kube-system" }
        }
        pod_selector {
          match_labels = { "k8s-app" = "kube-dns" }
        }
      }
      ports {
        protocol = "UDP"
        port     = 53
      }
      ports {
        protocol = "TCP"
        port     = 53
      }
    }
  }
}
