variable "project_id" {
  type        = string
  description = "GCP project that holds the network."
}

variable "region" {
  type        = string
  description = "Region of the subnetwork and of the Serverless VPC Access connector."
}

variable "name" {
  type        = string
  description = "Prefix of every network resource name."
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and dashes, starting with a letter (at most 20 chars, so the connector name fits 25)."
  }
}

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the regional subnetwork."
  default     = "10.10.0.0/24"
  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a CIDR block."
  }
}

variable "connector_cidr" {
  type        = string
  description = "The /28 range the Serverless VPC Access connector uses (must not overlap other ranges)."
  default     = "10.8.0.0/28"
  validation {
    condition     = can(cidrhost(var.connector_cidr, 0)) && endswith(var.connector_cidr, "/28")
    error_message = "connector_cidr must be a /28 CIDR block."
  }
}

variable "private_services_prefix_length" {
  type        = number
  description = "Prefix length of the range reserved for private services access (Cloud SQL, Cloud Build private pools)."
  default     = 16
  validation {
    condition     = var.private_services_prefix_length >= 8 && var.private_services_prefix_length <= 24
    error_message = "private_services_prefix_length must be between 8 and 24."
  }
}

variable "connector_min_instances" {
  type        = number
  description = "Minimum instances of the VPC Access connector."
  default     = 2
  validation {
    condition     = var.connector_min_instances >= 2 && var.connector_min_instances <= 9
    error_message = "connector_min_instances must be between 2 and 9."
  }
}

variable "connector_max_instances" {
  type        = number
  description = "Maximum instances of the VPC Access connector."
  default     = 3
  validation {
    condition     = var.connector_max_instances >= 3 && var.connector_max_instances <= 10
    error_message = "connector_max_instances must be between 3 and 10."
  }
}

variable "aws_s3_endpoint" {
  type        = bool
  description = "Create the S3 gateway endpoint in the Redshift workgroup's AWS VPC (warehouse = redshift: enhanced VPC routing sends COPY through the VPC)."
  default     = false
}

variable "aws_subnet_ids" {
  type        = list(string)
  description = "Subnets of the Redshift workgroup (their VPC gets the S3 endpoint); empty: the default VPC."
  default     = []
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every resource of the module that supports them."
  default     = {}
}
