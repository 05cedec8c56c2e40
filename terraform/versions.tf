# The module configures no provider: the caller does (examples/rds/main.tf), or, when this
# directory is applied on its own, the kubernetes provider reads KUBE_CONFIG_PATH (docs/deploy.md).
terraform {
  required_version = ">= 1.5"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}
