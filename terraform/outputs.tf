output "namespace" {
  description = "The namespace Vigil runs in."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}

output "api_service_name" {
  description = "The API's Service, for your Ingress or Gateway route (port 8000, named http)."
  value       = kubernetes_service_v1.api.metadata[0].name
}

output "api_url" {
  description = "The API's URL inside the cluster."
  value       = "http://${kubernetes_service_v1.api.metadata[0].name}.${kubernetes_namespace_v1.this.metadata[0].name}.svc.cluster.local:8000"
}

output "public_url" {
  description = "Where people reach Vigil: the first ingress host, over the ingress's TLS."
  value       = "https://${trimspace(split(",", var.ingress_host)[0])}"
}
