#!/usr/bin/env bash
# Installs, as root, every Debian package the integration and lab test tiers need, then checks
# boot-assets/. Idempotent and quiet; CI (.ci/run) calls it first, and test/run.sh does when it
# runs as root and `--check` finds a package missing.
#
#   bash lab/setup.sh           # as root: install what is missing, verify boot-assets, bootenv
#   bash lab/setup.sh --check   # any user: exit 1, naming them, when packages are missing
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
  esac
done

packages=(
  qemu-system-x86 qemu-utils ipxe-qemu ipxe ovmf   # the lab's VMs and their firmware
  openipmi ipmitool                                # simulated BMCs
  dnsmasq-base                                     # router advertisements, the lab's "site" DHCP
  busybox-static isc-dhcp-client                   # DHCP clients (udhcpc, dhclient)
  atftp tftp-hpa curl                              # TFTP and HTTP clients
  kea-admin kea-dhcp4-server tftpd-hpa nginx-light wrk  # benchmark peers and load generators
  iproute2 tcpdump cpio zstd                       # namespaces, captures, initramfs
  nftables                                         # random loss for the TFTP loss test where the kernel has no sch_netem
  kmod binutils                                    # the boot environment build (depmod/modprobe, strip)
  gcc libc6-dev                                    # the native lock-step TFTP loop (native/, built by npm install)
  git                                              # the fresh-clone test clones the checkout
  minisign                                         # test only: the independent implementation src/signing/ is checked against
  grub-common grub-pc-bin grub-efi-amd64-bin dosfstools mtools squashfs-tools  # the node image build (no grub-install, no mounts)
  fdisk gdisk                                      # sfdisk and sgdisk read the image's GPT back in its tests
)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != 'installed' ]; then
    missing+=("$p")
  fi
done

if [ "$check" = 1 ]; then
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "lab/setup.sh: missing ${missing[*]}"
    exit 1
  fi
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "lab/setup.sh: must run as root (apt-get install, network namespaces)" >&2
  exit 1
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "lab/setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # tftpd-hpa and kea start services on install where an init system runs; the tests run their own
  # instances, so a policy-rc.d that refuses service starts keeps ports 67/69 free.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
fi

bash boot-assets/fetch.sh

# The discovery boot environment: its kernel comes from apt (apt-get download needs the package
# lists); the whole build needs the agent (src/agent/main.ts) and npm install (esbuild).
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then apt-get update -qq; fi
if [ -f src/agent/main.ts ] && [ -x node_modules/.bin/esbuild ]; then
  bash boot-assets/build-bootenv.sh
else
  bash boot-assets/build-bootenv.sh --fetch-only
fi
echo "lab/setup.sh: ${#packages[@]} packages present, boot assets verified"
