# Invoker IAM: private by default, members from the variable, allUsers only
# on explicit request; the runtime service account gets no roles.

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

run "private_by_default" {
  command = plan

  assert {
    condition     = length(google_cloud_run_v2_service_iam_member.invokers) == 0
    error_message = "No invoker bindings without invoker_members."
  }

  assert {
    condition     = length(google_cloud_run_v2_service_iam_member.public) == 0
    error_message = "No allUsers binding unless allow_unauthenticated = true."
  }

  assert {
    condition     = output.invoker_members == []
    error_message = "invoker_members output must be empty by default."
  }
}

run "invokers_follow_variable" {
  command = plan

  variables {
    invoker_members = [
      "user:alice@example.com",
      "serviceAccount:caller@test-project.iam.gserviceaccount.com",
      "group:devs@example.com",
    ]
  }

  assert {
    condition     = toset([for m in google_cloud_run_v2_service_iam_member.invokers : m.member]) == toset(var.invoker_members)
    error_message = "Invoker bindings must be exactly var.invoker_members."
  }

  assert {
    condition     = alltrue([for m in google_cloud_run_v2_service_iam_member.invokers : m.role == "roles/run.invoker" && m.name == "pyexec" && m.location == "us-central1" && m.project == "test-project"])
    error_message = "Every binding must be roles/run.invoker on the pyexec service."
  }

  assert {
    condition     = length([for m in google_cloud_run_v2_service_iam_member.invokers : m if m.member == "allUsers"]) == 0 && length(google_cloud_run_v2_service_iam_member.public) == 0
    error_message = "Listing members must not make the service public."
  }
}

run "public_only_when_asked" {
  command = plan

  variables {
    allow_unauthenticated = true
    invoker_members       = ["user:alice@example.com"]
  }

  assert {
    condition     = length(google_cloud_run_v2_service_iam_member.public) == 1
    error_message = "allow_unauthenticated = true must add exactly one public binding."
  }

  assert {
    condition = length(concat(
      [for m in google_cloud_run_v2_service_iam_member.invokers : m if m.member == "allUsers"],
      [for m in google_cloud_run_v2_service_iam_member.public : m if m.member == "allUsers"],
    )) == 1
    error_message = "There must be exactly one allUsers binding."
  }

  assert {
    condition     = google_cloud_run_v2_service_iam_member.public[0].role == "roles/run.invoker" && google_cloud_run_v2_service_iam_member.public[0].name == "pyexec"
    error_message = "The public binding must be roles/run.invoker on the service."
  }

  assert {
    condition     = length(google_cloud_run_v2_service_iam_member.invokers) == 1
    error_message = "Listed members still get their binding."
  }
}

run "runtime_account_gets_no_roles" {
  command = plan

  variables {
    invoker_members = ["user:alice@example.com"]
  }

  # The module's only IAM resources are the invoker bindings on the service
  # (tf-test.sh additionally fails if any *_iam_* resource type other than
  # google_cloud_run_v2_service_iam_member appears in the .tf files). None of
  # them may name the runtime account.
  assert {
    condition = alltrue(concat(
      [for m in google_cloud_run_v2_service_iam_member.invokers : m.member != "serviceAccount:${google_service_account.runtime.email}"],
      [for m in google_cloud_run_v2_service_iam_member.public : m.member != "serviceAccount:${google_service_account.runtime.email}"],
    ))
    error_message = "The runtime service account must not be granted any role."
  }
}

run "all_users_rejected_in_member_list" {
  command = plan

  variables {
    invoker_members = ["allUsers"]
  }

  expect_failures = [var.invoker_members]
}

run "all_authenticated_users_rejected_in_member_list" {
  command = plan

  variables {
    invoker_members = ["allAuthenticatedUsers"]
  }

  expect_failures = [var.invoker_members]
}
