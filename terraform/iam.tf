# Invoker access. Private by default: only the listed members may call the
# service (with an identity token). Public access needs the explicit
# allow_unauthenticated flag; invoker_members rejects allUsers/allAuthenticatedUsers.

resource "google_cloud_run_v2_service_iam_member" "invokers" {
  for_each = local.deploy_service ? toset(var.invoker_members) : toset([])

  project  = google_cloud_run_v2_service.pyexec[0].project
  location = google_cloud_run_v2_service.pyexec[0].location
  name     = google_cloud_run_v2_service.pyexec[0].name
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  count = local.deploy_service && var.allow_unauthenticated ? 1 : 0

  project  = google_cloud_run_v2_service.pyexec[0].project
  location = google_cloud_run_v2_service.pyexec[0].location
  name     = google_cloud_run_v2_service.pyexec[0].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
