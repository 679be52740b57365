/**
 * Inputs of the pyexec root module. Cross-variable rules (timeouts, instance
 * bounds, CPU/memory pairs) are lifecycle preconditions in service.tf, since
 * variable validations may only reference their own variable before 1.9.
 */

# -----------------------------------------------------------------------------
# Project and placement
# -----------------------------------------------------------------------------

variable "project_id" {
  description = "ID of the Google Cloud project to deploy into (e.g. \"my-project-123\")."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "The project_id must be a Google Cloud project ID: 6-30 lowercase letters, digits or hyphens, starting with a letter (it may not be empty)."
  }
}

variable "region" {
  description = "Region for the Cloud Run service and the Artifact Registry repository (e.g. \"europe-west1\")."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "The region must be a Google Cloud region name such as \"us-central1\"."
  }
}

variable "enable_apis" {
  description = "Enable the APIs the deployment needs (Cloud Run, Artifact Registry, IAM). They are never disabled on destroy."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels applied to the Cloud Run service and the Artifact Registry repository."
  type        = map(string)
  default     = {}
}

# -----------------------------------------------------------------------------
# Image and registry
# -----------------------------------------------------------------------------

variable "repository_id" {
  description = "ID of the Docker-format Artifact Registry repository that holds the image."
  type        = string
  default     = "pyexec"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "The repository_id must be 1-63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "image_name" {
  description = "Image name inside the repository; used for the `image` output (the name to push to)."
  type        = string
  default     = "pyexec"

  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", var.image_name))
    error_message = "The image_name must be a lowercase Docker repository name."
  }
}

variable "image_tag" {
  description = "Tag used for the `image` output. Use a unique tag per build (e.g. a git SHA) so a new apply rolls out a new revision."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "The image_tag must be a valid Docker tag."
  }
}

variable "image" {
  description = "Full container image to deploy (e.g. REGION-docker.pkg.dev/PROJECT/pyexec/pyexec:TAG or an @sha256 digest). Empty = bootstrap: create APIs, repository and service account only, so the image can be pushed first."
  type        = string
  default     = ""

  validation {
    condition     = var.image == "" || can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^[:space:]]+$", var.image))
    error_message = "The image must be empty (bootstrap) or a full image reference HOST/PATH[:TAG|@DIGEST] without spaces."
  }
}

# -----------------------------------------------------------------------------
# Cloud Run service
# -----------------------------------------------------------------------------

variable "service_name" {
  description = "Name of the Cloud Run service."
  type        = string
  default     = "pyexec"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", var.service_name))
    error_message = "The service_name must be at most 49 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "service_account_id" {
  description = "account_id of the dedicated runtime service account (it is granted no project roles)."
  type        = string
  default     = "pyexec-runtime"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.service_account_id))
    error_message = "The service_account_id must be 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "cpu" {
  description = "vCPUs per instance (Cloud Run limit). Also the default execution concurrency."
  type        = string
  default     = "2"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "The cpu must be one of \"1\", \"2\", \"4\", \"6\" or \"8\"."
  }
}

variable "memory" {
  description = "Memory per instance, as a Kubernetes quantity in Mi or Gi (e.g. \"2Gi\"). The gen2 execution environment requires at least 512Mi; each concurrent execution may use execution_memory_mb on top of the JVM."
  type        = string
  default     = "2Gi"

  validation {
    condition = can(regex("^[1-9][0-9]*(Mi|Gi)$", var.memory)) && try(
      (endswith(var.memory, "Gi") ? tonumber(trimsuffix(var.memory, "Gi")) * 1024 : tonumber(trimsuffix(var.memory, "Mi"))) >= 512 &&
      (endswith(var.memory, "Gi") ? tonumber(trimsuffix(var.memory, "Gi")) * 1024 : tonumber(trimsuffix(var.memory, "Mi"))) <= 32768,
    false)
    error_message = "The memory must be written like \"512Mi\" or \"2Gi\" and be between 512Mi (the gen2 minimum) and 32Gi."
  }
}

variable "cpu_idle" {
  description = "true = request-based CPU (allocated and billed only while requests are in flight; with the template engine an execution forks from an already-loaded template, so it does not pay a cold start per request). false = instance-based CPU (always allocated, billed for the instance lifetime)."
  type        = bool
  default     = true
}

variable "startup_cpu_boost" {
  description = "Give the instance extra CPU while it starts (JVM start-up and loading the templates' libraries)."
  type        = bool
  default     = true
}

variable "min_instances" {
  description = "Minimum number of instances kept running (0 allows scale to zero)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instances >= 0 && var.min_instances <= 1000 && floor(var.min_instances) == var.min_instances
    error_message = "The min_instances must be a whole number between 0 and 1000."
  }
}

variable "max_instances" {
  description = "Maximum number of instances (caps cost and total concurrent executions)."
  type        = number
  default     = 3

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000 && floor(var.max_instances) == var.max_instances
    error_message = "The max_instances must be a whole number between 1 and 1000."
  }
}

variable "ingress" {
  description = "Cloud Run ingress setting. INGRESS_TRAFFIC_ALL still requires IAM (run.invoker) unless allow_unauthenticated is true."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = contains(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"], var.ingress)
    error_message = "The ingress must be INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "request_timeout_s" {
  description = "Cloud Run request timeout in seconds. null = computed from max_timeout_s, concurrency and queue size so a queued request can still finish. Must exceed max_timeout_s."
  type        = number
  default     = null

  validation {
    condition     = var.request_timeout_s == null || try(var.request_timeout_s >= 1 && var.request_timeout_s <= 3600 && floor(var.request_timeout_s) == var.request_timeout_s, false)
    error_message = "The request_timeout_s must be null or a whole number of seconds between 1 and 3600."
  }
}

variable "deletion_protection" {
  description = "Provider-side deletion protection of the Cloud Run service. Set to false (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

# -----------------------------------------------------------------------------
# Function settings (become PYEXEC_* environment variables)
# -----------------------------------------------------------------------------

variable "max_concurrency" {
  description = "PYEXEC_MAX_CONCURRENCY: executions running at once per instance. null = the number of vCPUs (var.cpu)."
  type        = number
  default     = null

  validation {
    condition     = var.max_concurrency == null || try(var.max_concurrency >= 1 && var.max_concurrency <= 256 && floor(var.max_concurrency) == var.max_concurrency, false)
    error_message = "The max_concurrency must be null or a whole number between 1 and 256."
  }
}

variable "queue_size" {
  description = "PYEXEC_QUEUE_SIZE: requests allowed to wait for an execution slot per instance. null = 2 x concurrency."
  type        = number
  default     = null

  validation {
    condition     = var.queue_size == null || try(var.queue_size >= 0 && var.queue_size <= 744 && floor(var.queue_size) == var.queue_size, false)
    error_message = "The queue_size must be null or a whole number between 0 and 744."
  }
}

variable "default_timeout_s" {
  description = "PYEXEC_DEFAULT_TIMEOUT_S: script timeout when a request does not ask for one."
  type        = number
  default     = 10

  validation {
    condition     = var.default_timeout_s >= 1 && var.default_timeout_s <= 3600 && floor(var.default_timeout_s) == var.default_timeout_s
    error_message = "The default_timeout_s must be a whole number of seconds between 1 and 3600."
  }
}

variable "max_timeout_s" {
  description = "PYEXEC_MAX_TIMEOUT_S: largest script timeout a request may ask for. The Cloud Run request timeout is kept above it."
  type        = number
  default     = 30

  validation {
    condition     = var.max_timeout_s >= 1 && var.max_timeout_s <= 3000 && floor(var.max_timeout_s) == var.max_timeout_s
    error_message = "The max_timeout_s must be a whole number of seconds between 1 and 3000."
  }
}

variable "execution_memory_mb" {
  description = "PYEXEC_MEMORY_MB: memory limit of one execution (jail), in MiB."
  type        = number
  default     = 512

  validation {
    condition     = var.execution_memory_mb >= 64 && var.execution_memory_mb <= 32768 && floor(var.execution_memory_mb) == var.execution_memory_mb
    error_message = "The execution_memory_mb must be a whole number between 64 and 32768."
  }
}

variable "engine" {
  description = "PYEXEC_ENGINE: how executions start. \"template\" (default): a long-lived jail per library flavour holds a Python with the libraries already imported, and each execution is forked from it into fresh namespaces (milliseconds). \"oneshot\": a new nsjail and a new Python per execution (slower, no long-lived process)."
  type        = string
  default     = "template"

  validation {
    condition     = contains(["template", "oneshot"], var.engine)
    error_message = "The engine must be \"template\" or \"oneshot\"."
  }
}

variable "template_max_executions" {
  description = "PYEXEC_TEMPLATE_MAX_EXECUTIONS: executions a template serves before it is replaced by a fresh one. null = the server's default (5000). Only used by the template engine."
  type        = number
  default     = null

  validation {
    condition     = var.template_max_executions == null || try(var.template_max_executions >= 1 && var.template_max_executions <= 1000000000 && floor(var.template_max_executions) == var.template_max_executions, false)
    error_message = "The template_max_executions must be null or a whole number of at least 1."
  }
}

variable "template_max_age_s" {
  description = "PYEXEC_TEMPLATE_MAX_AGE_S: seconds a template lives before it is replaced by a fresh one. null = the server's default (1800). Only used by the template engine."
  type        = number
  default     = null

  validation {
    condition     = var.template_max_age_s == null || try(var.template_max_age_s >= 1 && var.template_max_age_s <= 31536000 && floor(var.template_max_age_s) == var.template_max_age_s, false)
    error_message = "The template_max_age_s must be null or a whole number of seconds between 1 and 31536000 (a year)."
  }
}

# -----------------------------------------------------------------------------
# Access
# -----------------------------------------------------------------------------

variable "invoker_members" {
  description = "IAM members granted roles/run.invoker on the service, e.g. [\"user:alice@example.com\", \"serviceAccount:ci@p.iam.gserviceaccount.com\", \"group:devs@example.com\"]. Public access is not configured here: see allow_unauthenticated."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for m in var.invoker_members :
      can(regex("^(user|serviceAccount|group|domain|principal|principalSet):[^[:space:]]+$", m))
    ])
    error_message = "Each invoker member must look like user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:DOMAIN, principal:... or principalSet:...; allUsers/allAuthenticatedUsers are not accepted here (use allow_unauthenticated)."
  }
}

variable "allow_unauthenticated" {
  description = "Make the service public by granting roles/run.invoker to allUsers. Off by default: the service runs untrusted code, so keep it private unless you really mean it."
  type        = bool
  default     = false
}

# -----------------------------------------------------------------------------
# Operator monitoring (monitoring.tf)
# -----------------------------------------------------------------------------

variable "enable_monitoring" {
  description = "Create log-based metrics on the service's request log (requests by outcome/status/engine/jail, latency distribution) and an alert policy on sandbox failures and 5xx answers. Also enables the Logging and Monitoring APIs when enable_apis is true."
  type        = bool
  default     = false
}

variable "alert_notification_channels" {
  description = "Notification channels of the alert policy, as projects/PROJECT/notificationChannels/ID. Empty = incidents are only shown in the console."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "Each notification channel must be a full name: projects/PROJECT/notificationChannels/ID."
  }
}

variable "alert_window_s" {
  description = "Alerting window in seconds: failures are counted per window."
  type        = number
  default     = 300

  validation {
    condition     = var.alert_window_s >= 60 && var.alert_window_s <= 86400 && floor(var.alert_window_s) == var.alert_window_s
    error_message = "The alert_window_s must be a whole number of seconds between 60 and 86400."
  }
}

variable "alert_sandbox_failures" {
  description = "Alert when more than this many requests end in sandbox_error or sandbox_unavailable within one window. 0 = on the first one: the sandbox failing is never normal."
  type        = number
  default     = 0

  validation {
    condition     = var.alert_sandbox_failures >= 0 && floor(var.alert_sandbox_failures) == var.alert_sandbox_failures
    error_message = "The alert_sandbox_failures must be a whole number of at least 0."
  }
}

variable "alert_5xx_responses" {
  description = "Alert when Cloud Run answers more than this many requests with a 5xx status within one window (this includes 503 overloaded answers under bursts, hence not 0)."
  type        = number
  default     = 5

  validation {
    condition     = var.alert_5xx_responses >= 0 && floor(var.alert_5xx_responses) == var.alert_5xx_responses
    error_message = "The alert_5xx_responses must be a whole number of at least 0."
  }
}
