# The namespace, with Pod Security Admission enforcing the "restricted" standard: every Vigil
# pod is non-root, adds no capability and uses the RuntimeDefault seccomp profile.
resource "kubernetes_namespace_v1" "this" {
  metadata {
    name = var.namespace
    labels = merge(local.part_of, {
      "pod-security.kubernetes.io/enforce"         = "restricted"
      "pod-security.kubernetes.io/enforce-version" = "latest"
      "pod-security.kubernetes.io/audit"           = "restricted"
      "pod-security.kubernetes.io/warn"            = "restricted"
    })
  }

  lifecycle {
    precondition {
      condition     = var.create_database != (var.database_url != null)
      error_message = "Set exactly one of database_url (an external PostgreSQL) and create_database = true (an in-cluster one, for trials)."
    }
  }
}
