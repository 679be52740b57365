#!/usr/bin/env bash
# Offline checks of the terraform/ root module (run by `make tf-test`):
#   1. terraform fmt -check -recursive   (on the repository files)
#   2. policy checks on the .tf sources  (no project-level IAM, no unsandboxed switch)
#   3. terraform init -backend=false     (google provider from the local filesystem mirror)
#   4. terraform validate
#   5. terraform test                    (tests/*.tftest.hcl, mock_provider "google", plan mode)
# Steps 3-5 run on a temporary copy of the module, so no .terraform/ directory
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
log "using $("$TF" version | head -n1), google provider $PYEXEC_GOOGLE_PROVIDER_VERSION (local mirror)"

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

# --- 3-5. init / validate / test on a scratch copy --------------------------------
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

log "terraform test"
set +e
"$TF" -chdir="$WORK" test -no-color 2>&1 | tee "$WORK/test.log"
rc=${PIPESTATUS[0]}
set -e

summary="$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$WORK/test.log" | tail -n1 || true)"
if [ "$rc" -ne 0 ]; then
  log "FAILED: terraform test exited $rc"
  [ -n "$summary" ] && echo "tf-test: $summary"
  exit "$rc"
fi
if [ -z "$summary" ]; then
  log "FAILED: no test summary found (did any test run?)"
  exit 1
fi
echo "tf-test: $summary"
