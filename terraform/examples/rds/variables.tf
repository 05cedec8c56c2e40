variable "region" {
  description = "The AWS region of the database (and, usually, of the cluster)."
  type        = string
}

variable "vpc_id" {
  description = "The VPC the cluster runs in; the database gets a security group there."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two or more, in different availability zones) for the database."
  type        = list(string)
}

variable "client_cidr_blocks" {
  description = "The address ranges Vigil's pods connect from (the cluster's node or pod CIDRs): the only sources the database accepts."
  type        = list(string)
}

variable "kubeconfig_path" {
  description = "The kubeconfig of the cluster Vigil is deployed to."
  type        = string
  default     = "~/.kube/config"
}

variable "image" {
  description = "The Vigil image, pinned to a release tag or digest."
  type        = string
}

variable "ingress_host" {
  description = "The host name people reach Vigil by through the cluster's ingress."
  type        = string
}

variable "instance_class" {
  description = "The RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage" {
  description = "Initial storage in GiB; storage autoscaling may grow it to max_allocated_storage."
  type        = number
  default     = 50
}

variable "max_allocated_storage" {
  description = "The most storage, in GiB, that RDS storage autoscaling may grow to."
  type        = number
  default     = 500
}
