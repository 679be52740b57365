resource "google_cloud_run_v2_service" "pyexec" {
  count = local.deploy_service ? 1 : 0

  project             = var.project_id
  location            = var.region
  name                = var.service_name
  ingress             = var.ingress
  labels              = var.labels
  deletion_protection = var.deletion_protection

  template {
    # nsjail needs the gen2 environment (full Linux syscall surface, namespaces).
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    service_account                  = google_service_account.runtime.email
    max_instance_request_concurrency = local.max_instance_request_concurrency
    timeout                          = "${local.request_timeout_s}s"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      ports {
        container_port = local.container_port
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = var.cpu_idle
        startup_cpu_boost = var.startup_cpu_boost
      }

      dynamic "env" {
        for_each = local.container_env
        content {
          name  = env.key
          value = env.value
        }
      }

      # /health answers 200 once the jail runtime is ready, 503 before.
      # Up to 3s x 40 = 120s for JVM start-up and the templates' start
      # (a Python that has imported numpy and pandas, per library flavour).
      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 3
        timeout_seconds       = 2
        failure_threshold     = 40

        http_get {
          path = local.health_path
          port = local.container_port
        }
      }

      # Lenient on purpose: restart only after ~90s of consecutive failures.
      liveness_probe {
        initial_delay_seconds = 0
        period_seconds        = 30
        timeout_seconds       = 5
        failure_threshold     = 3

        http_get {
          path = local.health_path
          port = local.container_port
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.default_timeout_s <= var.max_timeout_s
      error_message = "default_timeout_s (${var.default_timeout_s}) must not exceed max_timeout_s (${var.max_timeout_s})."
    }
    precondition {
      condition     = local.request_timeout_s > var.max_timeout_s
      error_message = "The Cloud Run request timeout (${local.request_timeout_s}s) must be greater than max_timeout_s (${var.max_timeout_s}s), or the longest scripts would be cut off by Cloud Run."
    }
    precondition {
      condition     = var.min_instances <= var.max_instances
      error_message = "min_instances (${var.min_instances}) must not exceed max_instances (${var.max_instances})."
    }
    precondition {
      condition     = local.max_instance_request_concurrency <= 1000
      error_message = "max_concurrency + queue_size (${local.max_instance_request_concurrency}) exceeds Cloud Run's limit of 1000 requests per instance."
    }
    precondition {
      condition     = local.memory_mib >= local.concurrency * var.execution_memory_mb
      error_message = "memory (${var.memory}) is smaller than max_concurrency x execution_memory_mb (${local.concurrency} x ${var.execution_memory_mb} MiB): concurrent executions could exhaust the instance."
    }
    precondition {
      condition     = tonumber(var.cpu) < 4 || local.memory_mib >= (tonumber(var.cpu) >= 6 ? 4096 : 2048)
      error_message = "Cloud Run needs at least 2Gi of memory for 4 CPUs and 4Gi for 6 or 8 CPUs."
    }
  }

  depends_on = [google_project_service.apis]
}

check "memory_headroom" {
  assert {
    condition     = local.memory_mib >= local.concurrency * var.execution_memory_mb + 256
    error_message = "memory (${var.memory}) leaves less than 256 MiB for the JVM next to ${local.concurrency} executions of ${var.execution_memory_mb} MiB; consider more memory or a lower max_concurrency."
  }
}
