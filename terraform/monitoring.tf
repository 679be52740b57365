# Optional operator monitoring (enable_monitoring, off by default): log-based metrics
# on the service's structured request log, and one alert policy on sandbox failures
# and 5xx answers.
#
# The function writes one JSON line per request to stdout, which Cloud Run sends to
# Cloud Logging as jsonPayload: outcome (the answer's kind: success, script_error,
# timeout, sandbox_error, overloaded, ...), status, duration_ms, engine, jail,
# sandbox_profile and, on sandbox failures, sandbox_detail. /health answers from the
# probes are logged too; the metrics leave out the healthy ones.

locals {
  monitoring = var.enable_monitoring ? 1 : 0

  request_log_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${var.service_name}\"",
    "log_id(\"run.googleapis.com/stdout\")",
    "jsonPayload.outcome:*",
    "NOT jsonPayload.outcome=\"healthy\"",
  ])

  # Outcomes that mean the sandbox itself failed (not the script, not the caller).
  sandbox_failure_outcomes = ["sandbox_error", "sandbox_unavailable"]

  request_labels = {
    outcome = "The answer's kind (success, script_error, timeout, sandbox_error, overloaded, ...)."
    status  = "HTTP status of the answer."
    engine  = "Execution engine: template or oneshot."
    jail    = "Where the execution's jail came from (empty for answers that ran no script)."
  }
}

resource "google_logging_metric" "requests" {
  count = local.monitoring

  project     = var.project_id
  name        = "${var.service_name}-requests"
  description = "pyexec answers by outcome, HTTP status, engine and jail (from the structured request log)."
  filter      = local.request_log_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "pyexec requests"

    dynamic "labels" {
      for_each = local.request_labels
      content {
        key         = labels.key
        value_type  = "STRING"
        description = labels.value
      }
    }
  }

  label_extractors = { for k, _ in local.request_labels : k => "EXTRACT(jsonPayload.${k})" }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "latencies" {
  count = local.monitoring

  project         = var.project_id
  name            = "${var.service_name}-request-latencies"
  description     = "pyexec request latency (duration_ms: arrival to answer, queueing included) by outcome, engine and jail."
  filter          = local.request_log_filter
  value_extractor = "EXTRACT(jsonPayload.duration_ms)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "pyexec request latency"

    dynamic "labels" {
      for_each = { for k, v in local.request_labels : k => v if k != "status" }
      content {
        key         = labels.key
        value_type  = "STRING"
        description = labels.value
      }
    }
  }

  label_extractors = { for k, _ in local.request_labels : k => "EXTRACT(jsonPayload.${k})" if k != "status" }

  # 1 ms x 1.5^n: 40 buckets reach about 3 hours, beyond Cloud Run's request timeout.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 40
      growth_factor      = 1.5
      scale              = 1
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "failures" {
  count = local.monitoring

  project               = var.project_id
  display_name          = "pyexec ${var.service_name}: sandbox failures or 5xx answers"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "Sandbox failures (sandbox_error, sandbox_unavailable)"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "metric.type=\"logging.googleapis.com/user/${google_logging_metric.requests[0].name}\"",
        "metric.label.outcome=one_of(${join(", ", [for o in local.sandbox_failure_outcomes : "\"${o}\""])})",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_sandbox_failures
      duration        = "0s"

      aggregations {
        alignment_period     = "${var.alert_window_s}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  # Cloud Run's own request count: it also sees 5xx the function never logged
  # (instance crashes, request timeouts, no instance available).
  conditions {
    display_name = "5xx answers"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "resource.label.service_name=\"${var.service_name}\"",
        "metric.type=\"run.googleapis.com/request_count\"",
        "metric.label.response_code_class=\"5xx\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_5xx_responses
      duration        = "0s"

      aggregations {
        alignment_period     = "${var.alert_window_s}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "pyexec ${var.service_name}: sandbox failures or 5xx answers"
    content   = <<-EOT
      More than ${var.alert_sandbox_failures} sandbox failures or more than ${var.alert_5xx_responses} 5xx answers
      of the Cloud Run service `${var.service_name}` within ${var.alert_window_s}s.

      Sandbox failures are never the caller's fault: the jail could not be started or
      broke down. Look at the request log entries with `jsonPayload.outcome` =
      `sandbox_error` / `sandbox_unavailable`: `jsonPayload.sandbox_detail` says why,
      and the start-up lines say which sandbox profile the instance chose.
      503 `overloaded` answers mean the instances are saturated: raise
      `max_instances` or the per-instance concurrency.
    EOT
  }

  depends_on = [google_project_service.apis]
}
