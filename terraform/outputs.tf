output "service_url" {
  description = "HTTPS URL of the Cloud Run service (null in bootstrap mode, before an image is deployed)."
  value       = local.deploy_service ? google_cloud_run_v2_service.pyexec[0].uri : null
}

output "service_name" {
  description = "Name of the Cloud Run service."
  value       = var.service_name
}

output "service_id" {
  description = "Resource ID of the Cloud Run service (null in bootstrap mode)."
  value       = local.deploy_service ? google_cloud_run_v2_service.pyexec[0].id : null
}

output "location" {
  description = "Region of the service and the repository."
  value       = var.region
}

output "repository_path" {
  description = "Docker path of the Artifact Registry repository: REGION-docker.pkg.dev/PROJECT/REPOSITORY."
  value       = local.repository_path
}

output "image" {
  description = "Full image name to build and push to (REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG); pass it back as -var image=..."
  value       = local.image_to_push
}

output "deployed_image" {
  description = "Image the service runs (empty in bootstrap mode)."
  value       = var.image
}

output "service_account_email" {
  description = "Email of the dedicated runtime service account (no project roles)."
  value       = google_service_account.runtime.email
}

output "max_instance_request_concurrency" {
  description = "Requests Cloud Run routes to one instance: max_concurrency + queue_size."
  value       = local.max_instance_request_concurrency
}

output "request_timeout" {
  description = "Cloud Run request timeout of the service."
  value       = "${local.request_timeout_s}s"
}

output "invoker_members" {
  description = "Members granted roles/run.invoker on the service (allUsers only when allow_unauthenticated = true)."
  value = concat(
    [for m in google_cloud_run_v2_service_iam_member.invokers : m.member],
    [for m in google_cloud_run_v2_service_iam_member.public : m.member],
  )
}

output "project_id" {
  description = "Project the service is deployed in."
  value       = var.project_id
}

output "request_metric_types" {
  description = "Metric types of the log-based request metrics (null unless enable_monitoring = true), for charts and alerts of your own."
  value = var.enable_monitoring ? {
    requests  = "logging.googleapis.com/user/${google_logging_metric.requests[0].name}"
    latencies = "logging.googleapis.com/user/${google_logging_metric.latencies[0].name}"
  } : null
}
