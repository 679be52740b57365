#!/usr/bin/env bash
# Ensures the tools that `make tf-test` (terraform/scripts/tf-test.sh) needs exist,
# building them from the Go module proxy when missing. Idempotent: a second run
# with warm caches only checks stamps and rebuilds nothing.
#
# Everything lands under $PYEXEC_TOOLS_DIR (default ~/.cache/pyexec-tools), never
# inside the repository:
#   bin/terraform                     only if no usable terraform (>= 1.11) is on PATH
#   terraform-providers/              a Terraform filesystem_mirror holding
#     registry.terraform.io/hashicorp/google/<V>/<os>_<arch>/terraform-provider-google_v<V>
#   terraformrc                       CLI config (TF_CLI_CONFIG_FILE) pointing at that mirror
#   env.sh                            `source` it to get PATH and TF_CLI_CONFIG_FILE
#
# About the google provider: the Go module proxy reachable from this workplace
# serves github.com/hashicorp/terraform-provider-google only at v1.20.0 (2018);
# every 7.x tag, +incompatible form and commit pseudo-version is refused (403), so
# the real 7.x provider cannot be built offline. We therefore build
# terraform/tools/google-schema-provider: a small plugin (terraform-plugin-sdk/v2)
# that serves the google 7.x schema of exactly the resources this module uses,
# transcribed from the provider's 7.x resource definitions. It is only ever
# used by tests (mock_provider), never to deploy. See "Deploying to Google Cloud" in README.md.
set -euo pipefail

TERRAFORM_VERSION="${PYEXEC_TERRAFORM_VERSION:-1.11.4}"
TERRAFORM_MIN_VERSION="1.11.0" # terraform test `override_during` needs 1.11
GOOGLE_PROVIDER_VERSION="${PYEXEC_GOOGLE_PROVIDER_VERSION:-7.0.0}"

TOOLS_DIR="${PYEXEC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyexec-tools}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TF_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
PROVIDER_SRC="$TF_ROOT/tools/google-schema-provider"

log() { echo "install-tools: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$TOOLS_DIR/bin" "$TOOLS_DIR/stamps"

# --- Go --------------------------------------------------------------------
if [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
export PATH="$TOOLS_DIR/bin:$PATH"
command -v go >/dev/null 2>&1 || die "go not found (expected /usr/local/go/bin/go); it is needed to build terraform/the provider"
export GOTOOLCHAIN=local CHECKPOINT_DISABLE=1
export GOFLAGS="-buildvcs=false"
GOOS="$(go env GOOS)"
GOARCH="$(go env GOARCH)"

version_ge() { # version_ge A B -> A >= B
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

terraform_version_of() { # prints X.Y.Z of a terraform binary, or nothing
  "$1" version 2>/dev/null | sed -n 's/^Terraform v\([0-9][0-9.]*\).*/\1/p' | head -n1
}

# --- Terraform ---------------------------------------------------------------
find_terraform() {
  local c v
  for c in "$(command -v terraform 2>/dev/null || true)" "$TOOLS_DIR/bin/terraform"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    v="$(terraform_version_of "$c")"
    if [ -n "$v" ] && version_ge "$v" "$TERRAFORM_MIN_VERSION"; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

build_terraform() {
  # `go install github.com/hashicorp/terraform@vX` is refused (its go.mod has
  # replace directives) and the module zip lacks the nested modules those
  # replaces point at (remote-state backends, internal/legacy). Build from a
  # writable copy with those backends dropped; the local backend and
  # `-backend=false` (all we use) are unaffected.
  log "building terraform v$TERRAFORM_VERSION from the Go module proxy (a few minutes)..."
  local dir work src
  dir="$(go mod download -json "github.com/hashicorp/terraform@v$TERRAFORM_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download github.com/hashicorp/terraform@v$TERRAFORM_VERSION failed"
  work="$(mktemp -d)"
  src="$work/terraform"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  # go1.26 rejects the obsolete `godebug tlskyber=0` line; drop godebug lines.
  sed -i -E '/^godebug /d; /^replace github\.com\/hashicorp\/terraform\/internal\//d; /^[[:space:]]+github\.com\/hashicorp\/terraform\/internal\/[^ ]+ v0\.0\.0-00010101000000-000000000000$/d' "$src/go.mod"
  sed -i -E '/backend(Azure|Consul|Cos|GCS|Kubernetes|OSS|Pg|S3)[ .]/d' "$src/internal/backend/init/init.go"
  (cd "$src" && GOFLAGS="-buildvcs=false -mod=mod" go build -p 2 -trimpath \
    -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" \
    -o "$TOOLS_DIR/bin/terraform.tmp" .)
  mv "$TOOLS_DIR/bin/terraform.tmp" "$TOOLS_DIR/bin/terraform"
  rm -rf "$work"
  log "terraform: $("$TOOLS_DIR/bin/terraform" version | head -n1)"
}

if [ "${PYEXEC_FORCE_TERRAFORM_BUILD:-0}" = "1" ] && [ ! -x "$TOOLS_DIR/bin/terraform" ]; then
  build_terraform
fi
TERRAFORM_BIN="$(find_terraform || true)"
if [ -z "$TERRAFORM_BIN" ]; then
  build_terraform
  TERRAFORM_BIN="$(find_terraform || true)"
  [ -n "$TERRAFORM_BIN" ] || die "no usable terraform >= $TERRAFORM_MIN_VERSION after build"
fi

# --- google provider (schema build) into a filesystem mirror ----------------
MIRROR_DIR="$TOOLS_DIR/terraform-providers"
PKG_DIR="$MIRROR_DIR/registry.terraform.io/hashicorp/google/$GOOGLE_PROVIDER_VERSION/${GOOS}_${GOARCH}"
PROVIDER_BIN="$PKG_DIR/terraform-provider-google_v$GOOGLE_PROVIDER_VERSION"
STAMP_FILE="$TOOLS_DIR/stamps/google-provider-$GOOGLE_PROVIDER_VERSION-${GOOS}_${GOARCH}"
# The stamp covers the provider source and the Go version, so editing the
# schema rebuilds, and nothing else does. Kept outside the mirror: Terraform
# hashes every file of an unpacked provider directory.
want_stamp="$(cat "$PROVIDER_SRC/go.mod" "$PROVIDER_SRC/go.sum" "$PROVIDER_SRC"/*.go | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"

if [ -x "$PROVIDER_BIN" ] && [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$want_stamp" ]; then
  log "google provider $GOOGLE_PROVIDER_VERSION: cached ($PROVIDER_BIN)"
else
  log "building google provider $GOOGLE_PROVIDER_VERSION (schema build) from $PROVIDER_SRC ..."
  start=$(date +%s)
  mkdir -p "$PKG_DIR"
  (cd "$PROVIDER_SRC" && go build -p 2 -trimpath \
    -ldflags "-s -w -X main.version=$GOOGLE_PROVIDER_VERSION" \
    -o "$PROVIDER_BIN.tmp" .)
  mv "$PROVIDER_BIN.tmp" "$PROVIDER_BIN"
  echo "$want_stamp" >"$STAMP_FILE"
  log "google provider built in $(($(date +%s) - start))s: $PROVIDER_BIN"
fi
reported="$("$PROVIDER_BIN" -version 2>&1 || true)"
case "$reported" in
  *"$GOOGLE_PROVIDER_VERSION"*) ;;
  *) die "provider binary reports '$reported', expected version $GOOGLE_PROVIDER_VERSION" ;;
esac

# --- CLI config + env file ---------------------------------------------------
CLI_CONFIG="$TOOLS_DIR/terraformrc"
cat >"$CLI_CONFIG.tmp" <<EOF
# Written by terraform/scripts/install-tools.sh. Used only by tf-test.sh.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR_DIR"
    include = ["registry.terraform.io/hashicorp/google"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/google"]
  }
}
EOF
mv "$CLI_CONFIG.tmp" "$CLI_CONFIG"

cat >"$TOOLS_DIR/env.sh.tmp" <<EOF
# Written by terraform/scripts/install-tools.sh
export PATH="$(dirname "$TERRAFORM_BIN"):/usr/local/go/bin:\$PATH"
export TF_CLI_CONFIG_FILE="$CLI_CONFIG"
export PYEXEC_TERRAFORM="$TERRAFORM_BIN"
export PYEXEC_GOOGLE_PROVIDER_VERSION="$GOOGLE_PROVIDER_VERSION"
EOF
mv "$TOOLS_DIR/env.sh.tmp" "$TOOLS_DIR/env.sh"

log "terraform: $TERRAFORM_BIN ($(terraform_version_of "$TERRAFORM_BIN")); provider mirror: $MIRROR_DIR"
echo "$TOOLS_DIR/env.sh"
