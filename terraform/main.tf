/**
 * pyexec on Cloud Run: APIs, image repository and the runtime identity.
 * The service itself is in service.tf, invoker IAM in iam.tf.
 */

locals {
  # Bootstrap mode: with no image yet, create everything except the service
  # (and its IAM), so the image can be pushed to the repository first.
  deploy_service = var.image != ""

  required_apis = concat(
    [
      "run.googleapis.com",
      "artifactregistry.googleapis.com",
      "iam.googleapis.com",
    ],
    var.enable_monitoring ? ["logging.googleapis.com", "monitoring.googleapis.com"] : [],
  )

  # The function's own admission bound: `concurrency` executions run, up to
  # `queue_size` more wait. Cloud Run may route at most that many requests to
  # one instance, so overflow goes to another instance instead of being
  # rejected by a full queue.
  concurrency                      = var.max_concurrency != null ? var.max_concurrency : tonumber(var.cpu)
  queue_size                       = var.queue_size != null ? var.queue_size : 2 * local.concurrency
  max_instance_request_concurrency = local.concurrency + local.queue_size

  # Worst case for one request: wait behind ceil(queue/concurrency) rounds of
  # max-length executions, then run for max_timeout_s itself; plus slack for
  # jail start-up and the response. Cloud Run caps the timeout at 3600s.
  computed_request_timeout_s = min(3600, var.max_timeout_s * (1 + ceil(local.queue_size / local.concurrency)) + 30)
  request_timeout_s          = var.request_timeout_s != null ? var.request_timeout_s : local.computed_request_timeout_s

  memory_mib = try(
    endswith(var.memory, "Gi") ? tonumber(trimsuffix(var.memory, "Gi")) * 1024 : tonumber(trimsuffix(var.memory, "Mi")),
    0,
  )

  container_port = 8080
  health_path    = "/health"

  # Exactly the variables the container reads. Nothing here may weaken the
  # sandbox (the function has no unsandboxed mode; tf-test guards the name
  # PYEXEC_ALLOW_UNSANDBOXED so none is ever introduced).
  # Settings left null are not set, so the server's own defaults apply.
  container_env = merge(
    {
      PYEXEC_MAX_CONCURRENCY   = tostring(local.concurrency)
      PYEXEC_QUEUE_SIZE        = tostring(local.queue_size)
      PYEXEC_DEFAULT_TIMEOUT_S = tostring(var.default_timeout_s)
      PYEXEC_MAX_TIMEOUT_S     = tostring(var.max_timeout_s)
      PYEXEC_MEMORY_MB         = tostring(var.execution_memory_mb)
      PYEXEC_ENGINE            = var.engine
    },
    var.template_max_executions == null ? {} : { PYEXEC_TEMPLATE_MAX_EXECUTIONS = tostring(var.template_max_executions) },
    var.template_max_age_s == null ? {} : { PYEXEC_TEMPLATE_MAX_AGE_S = tostring(var.template_max_age_s) },
  )

  repository_path = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  image_to_push   = "${local.repository_path}/${var.image_name}:${var.image_tag}"
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? toset(local.required_apis) : toset([])

  project = var.project_id
  service = each.value

  # Other workloads in the project may rely on these APIs.
  disable_on_destroy         = false
  disable_dependent_services = false
}

resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "Container images of the pyexec secure Python execution service."
  labels        = var.labels

  depends_on = [google_project_service.apis]
}

# Dedicated runtime identity. It is intentionally granted NO project roles:
# user code runs inside the jail, and the service needs no Google API access.
# (Cloud Run pulls the image with its own service agent, and stdout/stderr
# logging does not need roles on the runtime account.)
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "pyexec Cloud Run runtime (no roles)"
  description  = "Runtime identity of the pyexec Cloud Run service. Has no project IAM roles by design."

  depends_on = [google_project_service.apis]
}
