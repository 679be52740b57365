# Variable validation rejects bad input before anything is planned.

mock_provider "google" {}

variables {
  project_id = "test-project"
  image      = "us-central1-docker.pkg.dev/test-project/pyexec/pyexec:test"
}

run "memory_below_512mi_rejected" {
  command = plan

  variables {
    memory = "256Mi"
  }

  expect_failures = [var.memory]
}

run "memory_511mi_rejected" {
  command = plan

  variables {
    memory = "511Mi"
  }

  expect_failures = [var.memory]
}

run "memory_without_unit_rejected" {
  command = plan

  variables {
    memory = "2048"
  }

  expect_failures = [var.memory]
}

run "memory_512mi_accepted" {
  command = plan

  variables {
    memory              = "512Mi"
    cpu                 = "1"
    max_concurrency     = 1
    execution_memory_mb = 256
  }

  assert {
    condition     = google_cloud_run_v2_service.pyexec[0].template[0].containers[0].resources[0].limits["memory"] == "512Mi"
    error_message = "512Mi is the gen2 minimum and must be accepted."
  }
}

run "empty_project_rejected" {
  command = plan

  variables {
    project_id = ""
  }

  expect_failures = [var.project_id]
}

run "unsupported_cpu_rejected" {
  command = plan

  variables {
    cpu = "3"
  }

  expect_failures = [var.cpu]
}

run "zero_concurrency_rejected" {
  command = plan

  variables {
    max_concurrency = 0
  }

  expect_failures = [var.max_concurrency]
}

run "bad_image_rejected" {
  command = plan

  variables {
    image = "not an image"
  }

  expect_failures = [var.image]
}

run "bad_ingress_rejected" {
  command = plan

  variables {
    ingress = "ALL"
  }

  expect_failures = [var.ingress]
}

run "unknown_engine_rejected" {
  command = plan

  variables {
    engine = "pool"
  }

  expect_failures = [var.engine]
}

run "zero_template_max_executions_rejected" {
  command = plan

  variables {
    template_max_executions = 0
  }

  expect_failures = [var.template_max_executions]
}

run "fractional_template_max_age_rejected" {
  command = plan

  variables {
    template_max_age_s = 1.5
  }

  expect_failures = [var.template_max_age_s]
}
