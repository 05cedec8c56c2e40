output "database_endpoint" {
  description = "host:port of the RDS instance."
  value       = "${aws_db_instance.vigil.address}:${aws_db_instance.vigil.port}"
}

output "api_url" {
  description = "The API's URL inside the cluster."
  value       = module.vigil.api_url
}

output "public_url" {
  description = "Where people reach Vigil."
  value       = module.vigil.public_url
}
