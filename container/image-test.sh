#!/usr/bin/env bash
# Build the image (container/build-image.sh), start it with Podman, and prove it
# works over HTTP: /health, the /execute contract (container/e2e_check.py), the
# shared acceptance cases when ../shared is there, image size and cold start.
#
#   bash container/image-test.sh        (what `make image-test` runs)
#
# Knobs: PYEXEC_IMAGE (default localhost/pyexec:dev), PYEXEC_SKIP_BUILD=1 (test
# the image as it is), PYEXEC_TEST_CGROUPS=1 (also give the container the host's
# cgroup tree read-write, so the jails get cgroup memory/pids limits instead of
# rlimits: host-level access, for trying only).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${PYEXEC_IMAGE:-localhost/pyexec:dev}"
NAME="pyexec-image-test-$$"
HEALTH_TIMEOUT=60
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '[image-test] %s\n' "$*"; }
die() {
  printf '\n[image-test] ##### FAILED: %s #####\n\n' "$*" >&2
  exit 1
}

if [ "${PYEXEC_SKIP_BUILD:-0}" != 1 ]; then
  bash "$REPO_ROOT/container/build-image.sh" || die "image build failed"
fi
command -v podman >/dev/null 2>&1 || die "podman is not installed: this test cannot run here"
podman image exists "$IMAGE" || die "image $IMAGE does not exist"

# How containers run on this machine family: runc (crun refuses hybrid cgroups),
# cgroupfs, ulimits no higher than root's hard limits here.
# nsjail needs: SYS_ADMIN and no seccomp filter (namespaces, mounts), and /proc
# without Podman's masked paths (a new procfs in a user namespace is refused
# while parts of /proc are over-mounted): unmask=ALL (Docker: systempaths=unconfined).
run_args=(
  --runtime runc --cgroup-manager cgroupfs run -d --name "$NAME"
  --ulimit nofile=1024:1024 --ulimit nproc=4096:4096
  --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt unmask=ALL
)
if [ "${PYEXEC_TEST_CGROUPS:-0}" = 1 ]; then
  log "PYEXEC_TEST_CGROUPS=1: host cgroup namespace and /sys/fs/cgroup read-write"
  run_args+=(--cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw)
fi

# Can Podman run a container here at all? Say so loudly if not.
if ! probe="$(podman --runtime runc --cgroup-manager cgroupfs run --rm \
  --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network none \
  --entrypoint /bin/true "$IMAGE" 2>&1)"; then
  printf '%s\n' "$probe" >&2
  die "podman cannot run containers on this machine (output above); the image test did NOT run"
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

cleanup() {
  local rc=$?
  if podman container exists "$NAME" 2>/dev/null; then
    if [ "$rc" -ne 0 ]; then
      echo "----- container log (last 60 lines) -----" >&2
      podman logs "$NAME" 2>&1 | tail -60 | cut -c1-400 >&2 || true
      echo "-----------------------------------------" >&2
    fi
    podman rm -f -t 2 "$NAME" >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting $IMAGE as $NAME on $base"
t0_ns="$(python3 -c 'import time; print(time.time_ns())')"
podman "${run_args[@]}" -p "127.0.0.1:$port:8080" "$IMAGE" >/dev/null || die "podman run failed"

cold="$(python3 "$REPO_ROOT/container/e2e_check.py" wait-execute "$base" --t0-ns "$t0_ns" \
  --timeout "$HEALTH_TIMEOUT")" || die "no successful /execute within ${HEALTH_TIMEOUT} s"
cold_ms="${cold#first_execute_ms=}"
started_ns="$(podman inspect --format '{{.State.StartedAt.UnixNano}}' "$NAME" 2>/dev/null || echo "")"

health="$(python3 "$REPO_ROOT/container/e2e_check.py" wait-health "$base" --timeout "$HEALTH_TIMEOUT")" ||
  die "/health did not answer 200 within ${HEALTH_TIMEOUT} s"
log "health: $health"
profile="$(printf '%s' "$health" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("sandbox_profile", "?"))')"
log "sandbox profile reported by the container: $profile"
podman logs "$NAME" 2>&1 | grep -E '"sandbox (self-test|profile)|"ready:' | cut -c1-300 | sed 's/^/[image-test]   log: /' || true

report_figures() {
  size="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
  log "image $IMAGE size: $size bytes ($((size / 1000000)) MB)"
  if [ -n "$started_ns" ] && [ "$started_ns" -gt "$t0_ns" ] 2>/dev/null; then
    now_first=$((t0_ns + cold_ms * 1000000))
    log "cold start: ${cold_ms} ms from 'podman run' to first successful /execute ($(((now_first - started_ns) / 1000000)) ms from the container process start)"
  else
    log "cold start: ${cold_ms} ms from 'podman run' to first successful /execute"
  fi
}

report_figures

log "end-to-end checks (container/e2e_check.py)"
failed=()
python3 "$REPO_ROOT/container/e2e_check.py" check "$base" || failed+=("end-to-end checks")

acceptance="$REPO_ROOT/../shared/acceptance/run.py"
cases="$REPO_ROOT/../shared/acceptance/seed-cases.json"
if [ -f "$acceptance" ] && [ -f "$cases" ]; then
  log "shared acceptance cases against the container"
  python3 "$acceptance" "$base" "$cases" || failed+=("shared acceptance cases")
else
  log "no ../shared/acceptance here: shared acceptance cases not run"
fi

report_figures
[ "${#failed[@]}" -eq 0 ] || die "$(IFS=,; echo "${failed[*]}") failed (see FAIL lines above)"
log "image test passed"
