# The private network: Cloud SQL has a private IP only, the functions reach it through the
# Serverless VPC Access connector, and Cloud Build's private pool (migrations) through the same
# private services access peering.

resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = "${var.name}-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "this" {
  project                  = var.project_id
  name                     = "${var.name}-${var.region}"
  region                   = var.region
  network                  = google_compute_network.this.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Private services access: the range Google-managed services (Cloud SQL, Cloud Build private
# pools) take their addresses from, peered with the VPC.
resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "${var.name}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_services_prefix_length
  network       = google_compute_network.this.id
  labels        = var.labels
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.this.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}

# Cloud SQL peering routes must be exported so the private pool (another producer network on the
# same peering) and the connector reach the instance.
resource "google_compute_network_peering_routes_config" "private_services" {
  project              = var.project_id
  peering              = google_service_networking_connection.private_services.peering
  network              = google_compute_network.this.name
  import_custom_routes = true
  export_custom_routes = true
}

resource "google_vpc_access_connector" "this" {
  project       = var.project_id
  name          = "${var.name}-conn"
  region        = var.region
  network       = google_compute_network.this.name
  ip_cidr_range = var.connector_cidr
  min_instances = var.connector_min_instances
  max_instances = var.connector_max_instances
  machine_type  = "e2-micro"
}

# Nothing inside the VPC accepts connections from outside it: deny all ingress by default (the
# connector's own rules, created by Google at a higher priority, still apply).
resource "google_compute_firewall" "deny_all_ingress" {
  project       = var.project_id
  name          = "${var.name}-deny-all-ingress"
  network       = google_compute_network.this.name
  direction     = "INGRESS"
  priority      = 65534
  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
