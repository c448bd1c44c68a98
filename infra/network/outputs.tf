output "network_id" {
  description = "Id of the VPC (projects/P/global/networks/N), the private network of Cloud SQL."
  value       = google_compute_network.this.id
}

output "network_name" {
  description = "Name of the VPC."
  value       = google_compute_network.this.name
}

output "vpc_connector_id" {
  description = "Id of the Serverless VPC Access connector the functions egress through."
  value       = google_vpc_access_connector.this.id
}

output "private_services_connection" {
  description = "The private services access connection; depend on it before creating Cloud SQL or a private pool."
  value       = google_service_networking_connection.private_services.id
}

output "aws_s3_endpoint_id" {
  description = "Id of the S3 gateway endpoint of the Redshift workgroup's VPC (null unless aws_s3_endpoint)."
  value       = one(aws_vpc_endpoint.s3[*].id)
}
