output "dataset_id" {
  description = "BigQuery dataset id."
  value       = google_bigquery_dataset.this.dataset_id
}

output "dataset_resource_id" {
  description = "Full id of the dataset (projects/P/datasets/D), for dataset-level IAM."
  value       = google_bigquery_dataset.this.id
}

output "location" {
  description = "Dataset location."
  value       = google_bigquery_dataset.this.location
}

output "events_table_id" {
  description = "Events table name."
  value       = google_bigquery_table.events.table_id
}

output "aggregations_table_id" {
  description = "Aggregations table name."
  value       = google_bigquery_table.aggregations.table_id
}
