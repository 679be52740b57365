#!/usr/bin/env bash
# Boots the service image's root filesystem in a QEMU microVM shaped like Cloud Run gen2 (only
# cgroup v2, the container in a non-root cgroup that already holds a process, its own cgroup
# namespace) and proves the sandbox there over HTTP, then four platform variants (read-only
# cgroupfs, no user namespaces, no CAP_SYS_ADMIN, neither).
#
#   bash container/vm/vm-test.sh          (what `make vm-test` runs)
#
# Reuses the image `make image-test` builds (PYEXEC_IMAGE, default localhost/pyexec:dev),
# building it with container/build-image.sh when it is missing. Installs QEMU, busybox and
# e2fsprogs with apt-get when missing; the Debian cloud kernel is downloaded with apt-get and
# unpacked under ~/.cache/pyexec/vm (never installed into /boot). The root filesystem image
# is cached there too, keyed by the image's ID and the guest files.
#
# Knobs: PYEXEC_IMAGE, PYEXEC_VM_ACCEL (kvm | tcg; default: kvm when a probe boot under KVM
# succeeds, else tcg), PYEXEC_VM_VARIANTS (default "gen2 cgroup-ro nouserns nocap nocap-nouserns").
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VM_DIR="$REPO_ROOT/container/vm"
IMAGE="${PYEXEC_IMAGE:-localhost/pyexec:dev}"
CACHE="${PYEXEC_CACHE:-$HOME/.cache/pyexec}/vm"
VARIANTS="${PYEXEC_VM_VARIANTS:-gen2 cgroup-ro nouserns nocap nocap-nouserns}"
VM_MEMORY_MB=3072
HEALTH_TIMEOUT_S=300
export PATH="$PATH:/usr/sbin:/sbin"
stage_start=$(date +%s)

log() { printf '[vm-test] %s\n' "$*"; }
die() {
  printf '\n[vm-test] ##### FAILED: %s #####\n\n' "$*" >&2
  exit 1
}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- tools ---------------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
# The static busybox runs in both the initramfs and the image, whatever their libraries.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]} with apt-get"
  as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$CACHE"

# --- image -----------------------------------------------------------------------------------
if ! command -v podman >/dev/null 2>&1 || ! podman image exists "$IMAGE"; then
  log "image $IMAGE missing: building it (container/build-image.sh)"
  PYEXEC_IMAGE="$IMAGE" bash "$REPO_ROOT/container/build-image.sh" || die "image build failed"
fi
image_id="$(podman image inspect --format '{{.Id}}' "$IMAGE")"

# --- kernel: Debian's cloud flavour, unpacked into the cache ---------------------------------
kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')"
if [ -z "$kernel_pkg" ]; then
  as_root apt-get update -q >/dev/null
  kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')"
fi
[ -n "$kernel_pkg" ] || die "apt knows no linux-image-cloud-amd64"
kdir="$CACHE/$kernel_pkg"
if [ ! -f "$kdir/.unpacked" ]; then
  log "downloading $kernel_pkg into $kdir"
  rm -rf "$kdir" && mkdir -p "$kdir/deb"
  (cd "$kdir/deb" && apt-get download -q "$kernel_pkg" 2>&1 | grep -v unsandboxed || true)
  dpkg-deb -x "$kdir"/deb/*.deb "$kdir/root"
  rm -rf "$kdir/deb"
  touch "$kdir/.unpacked"
fi
vmlinuz="$(ls "$kdir"/root/boot/vmlinuz-*)"
moddir="$(ls -d "$kdir"/root/lib/modules/*)"

# --- initramfs: busybox, the virtio modules, /init --------------------------------------------
initrd_key="$(cat /bin/busybox "$VM_DIR/initramfs-init" | sha256sum | cut -c1-16)-$(basename "$moddir")"
initrd="$CACHE/initramfs-$initrd_key.cpio.gz"
if [ ! -f "$initrd" ]; then
  log "making the initramfs"
  t="$(mktemp -d)"
  mkdir -p "$t/bin" "$t/lib/modules" "$t/proc" "$t/sys" "$t/dev" "$t/newroot"
  cp /bin/busybox "$t/bin/busybox"
  install -m 0755 "$VM_DIR/initramfs-init" "$t/init"
  for m in virtio_ring virtio virtio_mmio failover net_failover virtio_blk virtio_net; do
    f="$(find "$moddir" -name "$m.ko*" | head -1)"
    [ -n "$f" ] || die "kernel module $m not found in $moddir"
    case "$f" in
    *.xz) xz -dc "$f" >"$t/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" >"$t/lib/modules/$m.ko" ;;
    *) cp "$f" "$t/lib/modules/$m.ko" ;;
    esac
  done
  (cd "$t" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$t"
fi

# --- root filesystem: the image's, plus the platform's files under /pyexec-vm --------------------
guest_key="$(cat "$VM_DIR/platform-init" "$VM_DIR/container-entry" "$VM_DIR/guest_agent.py" /bin/busybox | sha256sum | cut -c1-12)"
rootfs="$CACHE/rootfs-${image_id:0:12}-$guest_key.ext4"
if [ ! -f "$rootfs" ]; then
  rm -f "$CACHE"/rootfs-*.ext4
  log "making the root filesystem from $IMAGE (${image_id:0:12})"
  t="$(mktemp -d /var/tmp/pyexec-vm-rootfs.XXXXXX)"
  trap 'rm -rf "$t"' EXIT
  cid="$(podman create "$IMAGE")"
  podman export "$cid" | as_root tar -C "$t" --numeric-owner -xf -
  podman rm "$cid" >/dev/null
  mkdir -p "$t/pyexec-vm"
  cp /bin/busybox "$t/pyexec-vm/busybox"
  install -m 0755 "$VM_DIR/platform-init" "$t/pyexec-vm/platform-init"
  install -m 0644 "$VM_DIR/container-entry" "$VM_DIR/guest_agent.py" "$t/pyexec-vm/"
  # What a container runtime takes from the image's config: entrypoint, command, env, workdir.
  podman image inspect "$IMAGE" | python3 -c '
import json, sys
config = json.load(sys.stdin)[0]["Config"]
out = sys.argv[1]
with open(out + "/entrypoint.args", "w") as f:
    f.writelines(a + "\n" for a in (config.get("Entrypoint") or []) + (config.get("Cmd") or []))
with open(out + "/container.env", "w") as f:
    f.writelines(e + "\n" for e in config.get("Env") or [])
with open(out + "/workdir", "w") as f:
    f.write((config.get("WorkingDir") or "/") + "\n")
' "$t/pyexec-vm"
  mb=$(( $(du -sm "$t" | cut -f1) * 3 / 2 + 256 ))
  mkfs.ext4 -q -F -L pyexec-root -E root_owner=0:0 -d "$t" "$rootfs.tmp" "${mb}M"
  mv "$rootfs.tmp" "$rootfs"
  rm -rf "$t"
  trap - EXIT
fi

# --- accelerator ----------------------------------------------------------------------------------
# Under TCG on a busy host the kernel's PIT-based TSC calibration fails, and the boot then
# spins with a clock that never advances (4 of 4 probe boots hung with 2 busy CPUs). A given
# TSC rate, loops-per-jiffy and no timer check make it deterministic (4 of 4 booted, ~2 s).
kernel_args="console=ttyS0 panic=-1 no_timer_check lpj=10000000 tsc=unstable tsc_early_khz=2500000"
qemu_base=(qemu-system-x86_64 -M microvm -cpu max -no-user-config -display none
  -no-reboot -kernel "$vmlinuz" -initrd "$initrd")
accel="${PYEXEC_VM_ACCEL:-}"
if [ -z "$accel" ]; then
  accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    # A nested guest can hang at boot under KVM: a busybox-only boot must finish in seconds.
    probe="$(timeout 20 "${qemu_base[@]}" -accel kvm -m 256 -smp 1 -serial stdio \
      -append "$kernel_args rdinit=/init pyexec.probe" 2>&1 </dev/null || true)"
    if grep -q PYEXEC-PROBE-OK <<<"$probe"; then accel=kvm; else log "a probe boot under KVM failed or hung (20 s): using TCG"; fi
  fi
fi
accel_arg=kvm
[ "$accel" = tcg ] && accel_arg="tcg,thread=multi"
log "accelerator: $accel; kernel $(basename "$vmlinuz"); root filesystem $(basename "$rootfs")"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

qemu_pid=""
cleanup() {
  local rc=$?
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid" 2>/dev/null || true; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_variant() {
  local variant="$1" port agent console t0 rc
  port="$(free_port)"
  agent="$(free_port)"
  console="$(mktemp /tmp/pyexec-vm-console.XXXXXX)"
  log "--- variant $variant: booting (service on 127.0.0.1:$port)"
  t0="$(python3 -c 'import time; print(time.time_ns())')"
  # The user-mode network is restricted: the guest reaches nothing outside; only the two
  # forwarded ports on the host's loopback reach the guest.
  "${qemu_base[@]}" -accel "$accel_arg" -smp 2 -m "$VM_MEMORY_MB" \
    -drive "file=$rootfs,format=raw,if=none,id=root,snapshot=on" -device virtio-blk-device,drive=root \
    -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$port-:8080,hostfwd=tcp:127.0.0.1:$agent-:9000" \
    -device virtio-net-device,netdev=net \
    -serial "file:$console" \
    -append "$kernel_args cgroup_no_v1=all rdinit=/init pyexec.variant=$variant" \
    </dev/null >"$console.qemu" 2>&1 &
  qemu_pid=$!
  rc=0
  python3 "$VM_DIR/vm_check.py" "$variant" --service "http://127.0.0.1:$port" \
    --agent "http://127.0.0.1:$agent" --t0-ns "$t0" --timeout "$HEALTH_TIMEOUT_S" \
    --qemu-pid "$qemu_pid" || rc=$?
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/poweroff", data=b""), timeout=10)' \
    "http://127.0.0.1:$agent" >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=""
  if [ "$rc" -ne 0 ]; then
    echo "----- VM console (last 40 lines) -----" >&2
    tail -40 "$console" >&2 || true
    cat "$console.qemu" >&2 || true
    echo "--------------------------------------" >&2
  fi
  rm -f "$console" "$console.qemu"
  return "$rc"
}

failed=()
for variant in $VARIANTS; do
  run_variant "$variant" || failed+=("$variant")
done
log "stage took $(($(date +%s) - stage_start)) s ($accel)"
[ "${#failed[@]}" -eq 0 ] || die "variant(s) failed: ${failed[*]}"
log "vm test passed"
