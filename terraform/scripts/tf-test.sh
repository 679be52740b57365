#!/usr/bin/env bash
# Offline checks of the terraform/ root module (run by `make tf-test`):
#   1. terraform fmt -check -recursive   (on the repository files)
#   2. policy checks on the .tf sources  (no project-level IAM, no unsandboxed switch)
#   3. terraform init -backend=false     (google provider from the local filesystem mirror)
#   4. terraform validate
#   5. schema probes: validate must reject an argument the real schema lacks and accept
#      one that only the real schema has (proves validate checks against the 8.x schema)
#   6. terraform test                    (tests/*.tftest.hcl, mock_provider "google", plan mode)
# Steps 3-6 run on a temporary copy of the module, so no .terraform/ directory
# or lock file is written into the repository. Exits non-zero on any failure.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TF_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

log() { echo "tf-test: $*" >&2; }

# --- tools -------------------------------------------------------------------
ENV_FILE="$(bash "$SCRIPT_DIR/install-tools.sh")"
# shellcheck disable=SC1090
source "$ENV_FILE"
TF="$PYEXEC_TERRAFORM"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_DATA_DIR TF_WORKSPACE
log "using $("$TF" version | head -n1), google provider $PYEXEC_GOOGLE_PROVIDER_VERSION (schema build, local mirror)"

# --- 1. fmt --------------------------------------------------------------------
log "terraform fmt -check -recursive"
if ! "$TF" -chdir="$TF_ROOT" fmt -check -recursive -diff; then
  log "FAILED: run 'terraform fmt -recursive terraform/'"
  exit 1
fi

# --- 2. policy checks on the sources -------------------------------------------
log "policy checks"
policy_fail=0
tf_files=("$TF_ROOT"/*.tf)
# The runtime service account must get no roles: the only IAM resource type
# allowed in this module is the per-service invoker binding.
if grep -nE '^[[:space:]]*(resource|data)[[:space:]]+"google_[a-z0-9_]*_iam_(member|binding|policy)"' "${tf_files[@]}" |
  grep -v '"google_cloud_run_v2_service_iam_member"'; then
  log "FAILED: only google_cloud_run_v2_service_iam_member may grant roles (no project/SA-level IAM)"
  policy_fail=1
fi
not_comment() { grep -vE '^[^:]*:[0-9]+:[[:space:]]*(#|//)'; }
if grep -n 'PYEXEC_ALLOW_UNSANDBOXED' "${tf_files[@]}" | not_comment; then
  log "FAILED: PYEXEC_ALLOW_UNSANDBOXED must never be set by terraform"
  policy_fail=1
fi
if grep -nE '"allUsers"' "${tf_files[@]}" | not_comment | grep -v '/iam\.tf:'; then
  log "FAILED: allUsers may only appear in iam.tf (behind allow_unauthenticated)"
  policy_fail=1
fi
[ "$policy_fail" = 0 ] || exit 1

# --- 3-6. init / validate / probes / test on a scratch copy --------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pyexec-tf-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp "$TF_ROOT"/*.tf "$WORK"/
cp -r "$TF_ROOT/tests" "$WORK/tests"
export TF_DATA_DIR="$WORK/.terraform"

log "terraform init -backend=false"
"$TF" -chdir="$WORK" init -backend=false -input=false -no-color >"$WORK/init.log" 2>&1 || {
  cat "$WORK/init.log" >&2
  log "FAILED: terraform init"
  exit 1
}

log "terraform validate"
"$TF" -chdir="$WORK" validate -no-color

# --- 5. schema probes ------------------------------------------------------------
# Each probe adds one argument to the Cloud Run container of a copy of the module and
# says whether validate must accept it. The first is unknown to every google provider;
# the second (automatic base image updates) exists in the real schema but was missing
# from the hand-written schema this test once used.
probe_pass=0
probe_fail=0
probe() { # probe NAME ARGUMENT accept|reject
  local dir="$WORK/probe-$1"
  mkdir -p "$dir"
  cp "$WORK"/*.tf "$WORK/.terraform.lock.hcl" "$dir"/
  sed -i "s|^      image = var.image\$|      image = var.image\n      $2|" "$dir/service.tf"
  if ! grep -qF "      $2" "$dir/service.tf"; then
    log "probe $1: FAILED: could not find the container's 'image = var.image' line in service.tf"
    probe_fail=$((probe_fail + 1))
    return
  fi
  if "$TF" -chdir="$dir" validate -no-color >"$dir/validate.log" 2>&1; then got=accept; else got=reject; fi
  if [ "$got" = "$3" ] && { [ "$3" = accept ] || grep -q 'Unsupported argument' "$dir/validate.log"; }; then
    log "probe $1: validate ${3}s '$2'"
    probe_pass=$((probe_pass + 1))
  else
    cat "$dir/validate.log" >&2
    log "probe $1: FAILED: validate should $3 '$2'"
    probe_fail=$((probe_fail + 1))
  fi
}
log "schema probes"
probe unknown_argument 'no_such_argument = "x"' reject
probe base_image_uri 'base_image_uri = "us-central1-docker.pkg.dev/serverless-runtimes/google-22/runtimes/java21"' accept

# --- 6. terraform test ------------------------------------------------------------
log "terraform test"
set +e
"$TF" -chdir="$WORK" test -no-color 2>&1 | tee "$WORK/test.log"
rc=${PIPESTATUS[0]}
set -e

counts="$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$WORK/test.log" | tail -n1 || true)"
if [ -z "$counts" ]; then
  log "FAILED: no test summary found (did any test run?)"
  exit 1
fi
# One summary for both: the terraform test runs plus the schema probes.
read -r passed _ failed _ <<<"${counts//,/}"
summary="$((passed + probe_pass)) passed, $((failed + probe_fail)) failed"
log "terraform test: $counts; schema probes: $probe_pass passed, $probe_fail failed"
echo "tf-test: $summary"
if [ "$rc" -ne 0 ] || [ "$probe_fail" -ne 0 ]; then
  log "FAILED"
  exit 1
fi
