# Optional operator monitoring: off by default; when on, log-based metrics on the
# request log and one alert policy on sandbox failures and 5xx answers.

mock_provider "google" {
  override_during = plan

  mock_resource "google_service_account" {
    defaults = {
      email = "pyexec-runtime@test-project.iam.gserviceaccount.com"
    }
  }
}

variables {
  project_id = "test-project"
  image      = "us-central1-docker.pkg.dev/test-project/pyexec/pyexec:test"
}

run "monitoring_off_by_default" {
  command = plan

  assert {
    condition     = length(google_logging_metric.requests) == 0 && length(google_logging_metric.latencies) == 0 && length(google_monitoring_alert_policy.failures) == 0
    error_message = "No metrics or alert policy unless enable_monitoring = true."
  }

  assert {
    condition     = !contains(keys(google_project_service.apis), "monitoring.googleapis.com") && !contains(keys(google_project_service.apis), "logging.googleapis.com")
    error_message = "The Logging and Monitoring APIs must not be managed while monitoring is off."
  }
}

run "metrics_read_the_service_request_log" {
  command = plan

  variables {
    enable_monitoring = true
  }

  assert {
    condition = alltrue([for m in [google_logging_metric.requests[0], google_logging_metric.latencies[0]] :
      strcontains(m.filter, "resource.type=\"cloud_run_revision\"") &&
      strcontains(m.filter, "resource.labels.service_name=\"pyexec\"") &&
      strcontains(m.filter, "log_id(\"run.googleapis.com/stdout\")") &&
      strcontains(m.filter, "jsonPayload.outcome:*") &&
      strcontains(m.filter, "NOT jsonPayload.outcome=\"healthy\"")
    ])
    error_message = "Both metrics must read the service's structured request lines (not the healthy probe answers)."
  }

  assert {
    condition     = google_logging_metric.requests[0].name == "pyexec-requests" && google_logging_metric.latencies[0].name == "pyexec-request-latencies"
    error_message = "Metric names must derive from the service name."
  }

  assert {
    condition     = output.request_metric_types.latencies == "logging.googleapis.com/user/pyexec-request-latencies"
    error_message = "request_metric_types must give the latency metric's type."
  }
}

run "request_counter_by_outcome_status_engine_jail" {
  command = plan

  variables {
    enable_monitoring = true
  }

  assert {
    condition     = google_logging_metric.requests[0].metric_descriptor[0].metric_kind == "DELTA" && google_logging_metric.requests[0].metric_descriptor[0].value_type == "INT64"
    error_message = "The request metric must be a DELTA INT64 counter."
  }

  assert {
    condition     = toset([for l in google_logging_metric.requests[0].metric_descriptor[0].labels : l.key]) == toset(["outcome", "status", "engine", "jail"])
    error_message = "The request counter must be labelled by outcome, status, engine and jail."
  }

  assert {
    condition = google_logging_metric.requests[0].label_extractors == tomap({
      outcome = "EXTRACT(jsonPayload.outcome)"
      status  = "EXTRACT(jsonPayload.status)"
      engine  = "EXTRACT(jsonPayload.engine)"
      jail    = "EXTRACT(jsonPayload.jail)"
    })
    error_message = "Each label must be extracted from the request log field of the same name."
  }
}

run "latency_distribution_from_duration_ms" {
  command = plan

  variables {
    enable_monitoring = true
  }

  assert {
    condition     = google_logging_metric.latencies[0].value_extractor == "EXTRACT(jsonPayload.duration_ms)" && google_logging_metric.latencies[0].metric_descriptor[0].value_type == "DISTRIBUTION" && google_logging_metric.latencies[0].metric_descriptor[0].unit == "ms"
    error_message = "The latency metric must be a distribution of jsonPayload.duration_ms in ms."
  }

  assert {
    condition     = toset([for l in google_logging_metric.latencies[0].metric_descriptor[0].labels : l.key]) == toset(["outcome", "engine", "jail"])
    error_message = "The latency distribution must be labelled by outcome, engine and jail."
  }

  # The largest finite bucket must cover the longest possible request (Cloud Run caps it at 3600 s).
  assert {
    condition = (
      google_logging_metric.latencies[0].bucket_options[0].exponential_buckets[0].scale *
      pow(google_logging_metric.latencies[0].bucket_options[0].exponential_buckets[0].growth_factor,
      google_logging_metric.latencies[0].bucket_options[0].exponential_buckets[0].num_finite_buckets)
    ) >= 3600000
    error_message = "The latency buckets must reach beyond an hour."
  }
}

run "alert_on_sandbox_failures_and_5xx" {
  command = plan

  variables {
    enable_monitoring           = true
    alert_notification_channels = ["projects/test-project/notificationChannels/123"]
  }

  assert {
    condition     = length(google_monitoring_alert_policy.failures) == 1 && google_monitoring_alert_policy.failures[0].combiner == "OR" && length(google_monitoring_alert_policy.failures[0].conditions) == 2
    error_message = "One alert policy with two conditions, either of which opens an incident."
  }

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.failures[0].conditions[0].condition_threshold[0].filter, "metric.type=\"logging.googleapis.com/user/pyexec-requests\"") &&
      strcontains(google_monitoring_alert_policy.failures[0].conditions[0].condition_threshold[0].filter, "metric.label.outcome=one_of(\"sandbox_error\", \"sandbox_unavailable\")") &&
      google_monitoring_alert_policy.failures[0].conditions[0].condition_threshold[0].threshold_value == 0
    )
    error_message = "The first condition must fire on the first sandbox_error or sandbox_unavailable answer."
  }

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.failures[0].conditions[1].condition_threshold[0].filter, "metric.type=\"run.googleapis.com/request_count\"") &&
      strcontains(google_monitoring_alert_policy.failures[0].conditions[1].condition_threshold[0].filter, "metric.label.response_code_class=\"5xx\"") &&
      strcontains(google_monitoring_alert_policy.failures[0].conditions[1].condition_threshold[0].filter, "resource.label.service_name=\"pyexec\"") &&
      google_monitoring_alert_policy.failures[0].conditions[1].condition_threshold[0].threshold_value == 5
    )
    error_message = "The second condition must count Cloud Run's 5xx answers of this service."
  }

  assert {
    condition     = alltrue([for c in google_monitoring_alert_policy.failures[0].conditions : c.condition_threshold[0].aggregations[0].alignment_period == "300s"])
    error_message = "Both conditions must count over the default 300 s window."
  }

  assert {
    condition     = google_monitoring_alert_policy.failures[0].notification_channels == tolist(["projects/test-project/notificationChannels/123"])
    error_message = "The policy must notify the given channels."
  }
}

run "alert_thresholds_follow_variables" {
  command = plan

  variables {
    enable_monitoring      = true
    alert_sandbox_failures = 2
    alert_5xx_responses    = 20
    alert_window_s         = 600
  }

  assert {
    condition = (
      google_monitoring_alert_policy.failures[0].conditions[0].condition_threshold[0].threshold_value == 2 &&
      google_monitoring_alert_policy.failures[0].conditions[1].condition_threshold[0].threshold_value == 20 &&
      alltrue([for c in google_monitoring_alert_policy.failures[0].conditions : c.condition_threshold[0].aggregations[0].alignment_period == "600s"])
    )
    error_message = "Thresholds and window must follow the variables."
  }
}

run "monitoring_enables_its_apis" {
  command = plan

  variables {
    enable_monitoring = true
  }

  assert {
    condition     = toset(keys(google_project_service.apis)) == toset(["run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com", "logging.googleapis.com", "monitoring.googleapis.com"])
    error_message = "Monitoring needs the Logging and Monitoring APIs."
  }
}

run "bad_notification_channel_rejected" {
  command = plan

  variables {
    enable_monitoring           = true
    alert_notification_channels = ["123"]
  }

  expect_failures = [var.alert_notification_channels]
}
