# Inputs. The defaults describe kustomize/overlays/prod; tests/deploy/test_terraform.py renders
# the module with them and compares the objects with that overlay's.

variable "image" {
  description = "The Vigil image, pinned to a release tag or (better) a digest: REGISTRY/vigil:0.1.0 or REGISTRY/vigil@sha256:..."
  type        = string

  validation {
    condition     = can(regex("(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[0-9a-f]{64})$", var.image)) && !can(regex(":(latest|dev)$", var.image))
    error_message = "Pin the image to a release tag or a digest (not :latest or :dev), e.g. ghcr.io/example/vigil:0.1.0."
  }
}

variable "namespace" {
  description = "The namespace the module creates and deploys into."
  type        = string
  default     = "vigil"
}

variable "ingress_host" {
  description = "The host name(s) people reach the API by through your ingress, comma-separated. The API answers 400 to any Host it does not know."
  type        = string
}

variable "database_url" {
  description = "The postgresql:// URL of an external PostgreSQL, with its user, password and database (and ?sslmode=require). Stored in the Secret vigil-database, and in the Terraform state. Leave null with create_database = true."
  type        = string
  default     = null
  sensitive   = true
}

variable "create_database" {
  description = "Run PostgreSQL in the cluster (a one-replica StatefulSet with a generated password), for trials. Production uses database_url."
  type        = bool
  default     = false
}

variable "postgres_image" {
  description = "The PostgreSQL image when create_database = true."
  type        = string
  default     = "postgres:16"
}

variable "postgres_storage" {
  description = "The size of the in-cluster PostgreSQL's volume when create_database = true."
  type        = string
  default     = "10Gi"
}

variable "initial_admin_password_file" {
  description = "Path to a file holding the password of the first user, admin, created when the API starts on a database without users. Null: create it with `kubectl exec ... vigil user create`."
  type        = string
  default     = null
}

variable "api_min_replicas" {
  description = "The fewest API replicas the HorizontalPodAutoscaler keeps (and the PodDisruptionBudget keeps one of)."
  type        = number
  default     = 2
}

variable "api_max_replicas" {
  description = "The most API replicas the HorizontalPodAutoscaler starts."
  type        = number
  default     = 6
}

variable "api_target_cpu_utilization" {
  description = "The average CPU utilisation (percent of the request) the HorizontalPodAutoscaler aims for."
  type        = number
  default     = 70
}

variable "worker_replicas" {
  description = "How many workers run; they share the targets through FOR UPDATE SKIP LOCKED."
  type        = number
  default     = 2
}

variable "api_resources" {
  description = "Requests and limits of the API container."
  type = object({
    requests = map(string)
    limits   = map(string)
  })
  default = {
    requests = { cpu = "100m", memory = "128Mi" }
    limits   = { cpu = "1", memory = "512Mi" }
  }
}

variable "worker_resources" {
  description = "Requests and limits of the worker container."
  type = object({
    requests = map(string)
    limits   = map(string)
  })
  default = {
    requests = { cpu = "200m", memory = "256Mi" }
    limits   = { cpu = "2", memory = "1Gi" }
  }
}

variable "migrate_resources" {
  description = "Requests and limits of the migrate Job's container."
  type = object({
    requests = map(string)
    limits   = map(string)
  })
  default = {
    requests = { cpu = "50m", memory = "64Mi" }
    limits   = { cpu = "500m", memory = "256Mi" }
  }
}

variable "log_level" {
  description = "VIGIL_LOG_LEVEL: debug, info, warning or error."
  type        = string
  default     = "info"
}

variable "extra_config" {
  description = "More VIGIL_* settings for every role (README, Configuration), e.g. { VIGIL_PUBLIC_URL = \"https://vigil.example.com\" }. Not for secrets: they land in a ConfigMap."
  type        = map(string)
  default     = {}
}

variable "ingress_namespace" {
  description = "The namespace of the ingress controller that may reach the API (NetworkPolicy)."
  type        = string
  default     = "ingress-nginx"
}

variable "ingress_pod_labels" {
  description = "Labels of the ingress controller's pods that may reach the API (NetworkPolicy)."
  type        = map(string)
  default     = { "app.kubernetes.io/name" = "ingress-nginx" }
}

variable "prometheus_namespace" {
  description = "The namespace of the Prometheus that scrapes the API and the workers (NetworkPolicy)."
  type        = string
  default     = "monitoring"
}

variable "prometheus_pod_labels" {
  description = "Labels of the Prometheus pods that scrape the API and the workers (NetworkPolicy)."
  type        = map(string)
  default     = { "app.kubernetes.io/name" = "prometheus" }
}

variable "worker_deny_metadata" {
  description = "Deny the workers' egress to the link-local ranges where clouds serve instance metadata and credentials (169.254.0.0/16, fe80::/10, fd00:ec2::254). Set false only to monitor something there."
  type        = bool
  default     = true
}
