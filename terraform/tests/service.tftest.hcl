# Plan-mode tests of the Cloud Run service, against the google provider schema
# with a mocked provider (no cloud access, no credentials).

mock_provider "google" {
  # Let the mocked computed values below be known at plan time.
  override_during = plan

  mock_resource "google_service_account" {
    defaults = {
      email = "pyexec-runtime@test-project.iam.gserviceaccount.com"
    }
  }

  mock_resource "google_cloud_run_v2_service" {
    defaults = {
      uri = "https://pyexec-test-uc.a.run.app"
    }
  }
}

variables {
  project_id = "test-project"
  image      = "us-central1-docker.pkg.dev/test-project/pyexec/pyexec:test"
}

run "gen2_image_and_dedicated_service_account" {
  command = plan

  assert {
    condition     = length(google_cloud_run_v2_service.pyexec) == 1
    error_message = "The service must be planned when an image is given."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].execution_environment == "EXECUTION_ENVIRONMENT_GEN2"
    error_message = "nsjail needs the gen2 execution environment."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].image == var.image
    error_message = "The container must run the image from var.image."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].service_account == google_service_account.runtime.email
    error_message = "The service must run as the dedicated runtime service account."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].service_account == "pyexec-runtime@test-project.iam.gserviceaccount.com"
    error_message = "The runtime service account email is not the mocked dedicated account."
  }

  assert {
    condition     = google_service_account.runtime.account_id == "pyexec-runtime" && google_service_account.runtime.project == "test-project"
    error_message = "The runtime service account must be created in the target project."
  }

  assert {
    condition     = output.service_url == "https://pyexec-test-uc.a.run.app"
    error_message = "service_url must be the service's URI."
  }

  assert {
    condition     = output.service_account_email == "pyexec-runtime@test-project.iam.gserviceaccount.com"
    error_message = "service_account_email must be the runtime account's email."
  }
}

run "resources_and_cpu_allocation_defaults" {
  command = plan

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].limits["cpu"] == "2" && google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].limits["memory"] == "2Gi"
    error_message = "Default limits must be 2 CPUs / 2Gi."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].cpu_idle == true
    error_message = "By default CPU must be request-based (cpu_idle = true)."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].startup_cpu_boost == true
    error_message = "Startup CPU boost must be on by default."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].scaling[0].min_instance_count == 0 && google_cloud_run_v2_service.pyexec[0].template[0].scaling[0].max_instance_count == 3
    error_message = "Default scaling must be 0..3 instances."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].ports[0].container_port == 8080
    error_message = "The container listens on 8080."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].ingress == "INGRESS_TRAFFIC_ALL" && google_cloud_run_v2_service.pyexec[0].deletion_protection == true
    error_message = "Default ingress/deletion protection changed."
  }
}

run "instance_based_cpu_when_cpu_idle_false" {
  command = plan

  variables {
    cpu_idle      = false
    cpu           = "4"
    memory        = "4096Mi"
    min_instances = 1
    max_instances = 10
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].cpu_idle == false
    error_message = "cpu_idle must follow var.cpu_idle."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].limits["cpu"] == "4" && google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].limits["memory"] == "4096Mi"
    error_message = "Limits must follow var.cpu and var.memory."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].scaling[0].min_instance_count == 1 && google_cloud_run_v2_service.pyexec[0].template[0].scaling[0].max_instance_count == 10
    error_message = "Scaling must follow min_instances/max_instances."
  }

  # 4 CPUs -> concurrency 4, queue 8.
  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].max_instance_request_concurrency == 12
    error_message = "Concurrency must default to the CPU count and the queue to twice that."
  }
}

run "probes_hit_health" {
  command = plan

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].startup_probe[0].http_get[0].path == "/health"
    error_message = "The startup probe must GET /health."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].liveness_probe[0].http_get[0].path == "/health"
    error_message = "The liveness probe must GET /health."
  }

  assert {
    condition = (
      google_cloud_run_v2_service.pyexec[0].template[0].containers[0].startup_probe[0].http_get[0].port == 8080 &&
      google_cloud_run_v2_service.pyexec[0].template[0].containers[0].liveness_probe[0].http_get[0].port == 8080
    )
    error_message = "Probes must target the serving port."
  }

  assert {
    condition = (
      google_cloud_run_v2_service.pyexec[0].template[0].containers[0].startup_probe[0].period_seconds *
      google_cloud_run_v2_service.pyexec[0].template[0].containers[0].startup_probe[0].failure_threshold
    ) <= 240
    error_message = "Cloud Run allows a startup probe window of at most 240s."
  }
}

run "env_matches_variables" {
  command = plan

  variables {
    max_concurrency     = 3
    queue_size          = 5
    default_timeout_s   = 7
    max_timeout_s       = 20
    execution_memory_mb = 256
    engine              = "oneshot"
  }

  assert {
    condition = {
      for e in google_cloud_run_v2_service.pyexec[0].template[0].containers[0].env : e.name => e.value
      } == {
      PYEXEC_MAX_CONCURRENCY   = "3"
      PYEXEC_QUEUE_SIZE        = "5"
      PYEXEC_DEFAULT_TIMEOUT_S = "7"
      PYEXEC_MAX_TIMEOUT_S     = "20"
      PYEXEC_MEMORY_MB         = "256"
      PYEXEC_ENGINE            = "oneshot"
    }
    error_message = "The container environment must be exactly the PYEXEC_* settings from the variables."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].max_instance_request_concurrency == 8
    error_message = "max_instance_request_concurrency must be max_concurrency + queue_size."
  }

  # 20 * (1 + ceil(5/3)) + 30 = 90
  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].timeout == "90s"
    error_message = "The request timeout must be computed from max_timeout_s, concurrency and queue size."
  }
}

run "env_defaults_and_no_unsandboxed_switch" {
  command = plan

  assert {
    condition = {
      for e in google_cloud_run_v2_service.pyexec[0].template[0].containers[0].env : e.name => e.value
      } == {
      PYEXEC_MAX_CONCURRENCY   = "2"
      PYEXEC_QUEUE_SIZE        = "4"
      PYEXEC_DEFAULT_TIMEOUT_S = "10"
      PYEXEC_MAX_TIMEOUT_S     = "30"
      PYEXEC_MEMORY_MB         = "512"
      PYEXEC_ENGINE            = "template"
    }
    error_message = "Default environment changed (the template limits must be left to the server by default)."
  }

  assert {
    condition     = !contains([for e in google_cloud_run_v2_service.pyexec[0].template[0].containers[0].env : e.name], "PYEXEC_ALLOW_UNSANDBOXED")
    error_message = "PYEXEC_ALLOW_UNSANDBOXED must never be set by terraform."
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].max_instance_request_concurrency == 6
    error_message = "Default max_instance_request_concurrency must be 2 + 4."
  }

  # 30 * (1 + ceil(4/2)) + 30 = 120
  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].timeout == "120s" && output.request_timeout == "120s"
    error_message = "Default request timeout must be 120s."
  }
}

run "template_limits_become_env" {
  command = plan

  variables {
    template_max_executions = 1000
    template_max_age_s      = 600
  }

  assert {
    condition = {
      for e in google_cloud_run_v2_service.pyexec[0].template[0].containers[0].env : e.name => e.value
      if startswith(e.name, "PYEXEC_TEMPLATE_") || e.name == "PYEXEC_ENGINE"
      } == {
      PYEXEC_ENGINE                  = "template"
      PYEXEC_TEMPLATE_MAX_EXECUTIONS = "1000"
      PYEXEC_TEMPLATE_MAX_AGE_S      = "600"
    }
    error_message = "template_max_executions and template_max_age_s must become PYEXEC_TEMPLATE_MAX_EXECUTIONS and PYEXEC_TEMPLATE_MAX_AGE_S."
  }
}

run "explicit_request_timeout" {
  command = plan

  variables {
    request_timeout_s = 45
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].timeout == "45s"
    error_message = "An explicit request_timeout_s must be used as is."
  }
}

run "request_timeout_must_exceed_max_script_timeout" {
  command = plan

  variables {
    max_timeout_s     = 60
    request_timeout_s = 60
  }

  expect_failures = [google_cloud_run_v2_service.pyexec]
}

run "default_timeout_must_not_exceed_max" {
  command = plan

  variables {
    default_timeout_s = 40
    max_timeout_s     = 30
  }

  expect_failures = [google_cloud_run_v2_service.pyexec]
}

run "memory_must_cover_concurrent_executions" {
  command = plan

  variables {
    memory          = "1Gi"
    max_concurrency = 4
  }

  # The hard precondition fails, and so does the (warning-level) headroom check.
  expect_failures = [google_cloud_run_v2_service.pyexec, check.memory_headroom]
}

run "bootstrap_without_image_skips_service" {
  command = plan

  variables {
    image           = ""
    invoker_members = ["user:alice@example.com"]
  }

  assert {
    condition     = length(google_cloud_run_v2_service.pyexec) == 0 && length(google_cloud_run_v2_service_iam_member.invokers) == 0 && length(google_cloud_run_v2_service_iam_member.public) == 0
    error_message = "Bootstrap mode must not plan the service or its IAM."
  }

  assert {
    condition     = google_artifact_registry_repository.images.format == "DOCKER" && google_artifact_registry_repository.images.location == "us-central1"
    error_message = "The Docker repository must be planned in bootstrap mode."
  }

  assert {
    condition     = output.repository_path == "us-central1-docker.pkg.dev/test-project/pyexec"
    error_message = "repository_path output is wrong."
  }

  assert {
    condition     = output.image == "us-central1-docker.pkg.dev/test-project/pyexec/pyexec:latest"
    error_message = "image output is wrong."
  }

  assert {
    condition     = output.service_url == null
    error_message = "service_url must be null before the service exists."
  }
}

run "apis_enabled_and_kept_on_destroy" {
  command = plan

  assert {
    condition     = toset(keys(google_project_service.apis)) == toset(["run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"])
    error_message = "Cloud Run, Artifact Registry and IAM APIs must be enabled."
  }

  assert {
    condition     = alltrue([for s in google_project_service.apis : s.disable_on_destroy == false])
    error_message = "APIs must not be disabled on destroy."
  }
}

run "apis_can_be_left_alone" {
  command = plan

  variables {
    enable_apis = false
  }

  assert {
    condition     = length(google_project_service.apis) == 0
    error_message = "enable_apis = false must not manage any API."
  }
}
