#!/usr/bin/env bash
# Builds Anvil's boot environment into boot-assets/bootenv/: vmlinuz (Debian's kernel) and
# initramfs.zst (busybox-static, this machine's node with its libraries, Debian's ipmitool and zstd
# with their libraries, the driver modules in dependency order, the discovery agent bundled from
# src/agent/main.ts), plus SHA256SUMS and PROVENANCE. See docs/bootenv.md.
#
#   bash boot-assets/build-bootenv.sh            # or: npm run build:bootenv
#   bash boot-assets/build-bootenv.sh --force    # rebuild even when no input changed
#   ... --out DIR --agent-entry FILE             # elsewhere / another agent (tests use both)
#   bash boot-assets/build-bootenv.sh --fetch-only # only download and unpack the kernel (lab/setup.sh)
#
# Environment: BOOTENV_KERNEL_PACKAGE (default: the linux-image-*-amd64 that linux-image-amd64
# depends on), BOOTENV_NODE (default: `command -v node`), SOURCE_DATE_EPOCH (file times in the
# archive, default 0). Needs: apt (package lists), dpkg, kmod (depmod, modprobe), binutils (strip),
# busybox-static, ipmitool, cpio, zstd; lab/setup.sh installs them. Root is not needed.
#
# Idempotent: the inputs are fingerprinted (bootenv/.inputs) and an unchanged build ends in about a
# second. The kernel .deb and its unpacked tree are cached in boot-assets/.cache/ (gitignored).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/bootenv"
entry="$repo/src/agent/main.ts"
force=0
fetch_only=0
started="$(date +%s.%N)"

die () { echo "build-bootenv: $*" >&2; exit 1; }
say () { echo "build-bootenv: $*"; }

while [ "$#" -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --fetch-only) fetch_only=1 ;;
    --out) out="$(mkdir -p "${2:?--out DIR}" && cd "$2" && pwd)"; shift ;;
    --agent-entry) entry="$(cd "$(dirname "${2:?--agent-entry FILE}")" && pwd)/$(basename "$2")"; shift ;;
    *) echo "usage: $0 [--force] [--fetch-only] [--out DIR] [--agent-entry FILE]" >&2; exit 2 ;;
  esac
  shift
done

# The modules the environment loads: virtio (PCI transport, net, blk, scsi), NVMe, SATA/AHCI with
# SCSI disks, the kernel IPMI interface, and the server NICs racks are made of (Intel e1000/e1000e/
# igb/ixgbe/i40e/ice, Broadcom bnxt_en/tg3, Mellanox mlx4/mlx5, Realtek r8169; NICs whose driver
# needs a firmware file may stay down: none is shipped); modprobe adds their dependencies.
modules=(virtio_pci virtio_net virtio_blk virtio_scsi nvme ahci libahci sd_mod ipmi_msghandler ipmi_devintf ipmi_si
  e1000 e1000e igb ixgbe i40e ice bnxt_en tg3 mlx4_en mlx5_core r8169)
# Applets that would offer a login or a service: the environment has no shell for anyone.
skip_applets=' getty login sulogin su passwd telnetd httpd ftpd crond '

need () { command -v "$1" >/dev/null 2>&1 || die "$1 not found: install $2 (lab/setup.sh does)"; }
need dpkg-deb dpkg
need apt-get apt
need depmod kmod
need modprobe kmod
need strip binutils
need cpio cpio
need zstd zstd
[ -x /bin/busybox ] && /bin/busybox --list-full >/dev/null 2>&1 || die "/bin/busybox missing: install busybox-static"
if ldd /bin/busybox >/dev/null 2>&1; then die "/bin/busybox is dynamically linked: install busybox-static"; fi
node_bin="$(readlink -f "${BOOTENV_NODE:-$(command -v node || true)}")"
[ -x "$node_bin" ] || die "node not found (set BOOTENV_NODE)"
# ipmitool: the agent reads the BMC's LAN address with `ipmitool -I open lan print` through
# /dev/ipmi0 (src/agent/inventory/bmc.ts); Node cannot issue the kernel's IPMI ioctl itself.
ipmitool_bin="$(readlink -f "$(command -v ipmitool || true)")"
[ -x "$ipmitool_bin" ] || die "ipmitool not found: install ipmitool (lab/setup.sh does)"
# zstd: the install task decompresses the node image through it (src/agent/install-decompress.ts);
# Node 20 has no zstd. The same binary compresses the initramfs below.
zstd_bin="$(readlink -f "$(command -v zstd || true)")"
[ -x "$zstd_bin" ] || die "zstd not found: install zstd (lab/setup.sh does)"
esbuild="$repo/node_modules/.bin/esbuild"
[ "$fetch_only" = 1 ] || [ -x "$esbuild" ] || die "$esbuild missing: run npm install (esbuild is a devDependency)"
[ "$fetch_only" = 1 ] || [ -f "$entry" ] || die "agent entry $entry missing (src/agent/main.ts, or pass --agent-entry)"
proto="$repo/src/proto/provisioning.proto"
[ -f "$proto" ] || die "$proto missing"

cache="$here/.cache"
mkdir -p "$cache" "$out"
[ -f "$cache/.gitignore" ] || printf '*\n' >"$cache/.gitignore"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" "$cache" # apt-get download runs as _apt when root and must write there

# --- the kernel package -------------------------------------------------------------------------
kpkg="${BOOTENV_KERNEL_PACKAGE:-}"
if [ -z "$kpkg" ]; then
  kpkg="$( (apt-cache depends linux-image-amd64 2>/dev/null || true) | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)"
fi
kdeb=''
if [ -n "$kpkg" ]; then
  kver_deb="$( (apt-cache show --no-all-versions "$kpkg" 2>/dev/null || true) | sed -n 's/^Version: //p' | head -n 1)"
  [ -n "$kver_deb" ] || die "apt knows no package $kpkg (run apt-get update, or check BOOTENV_KERNEL_PACKAGE)"
  kdeb="$cache/${kpkg}_${kver_deb//:/%3a}_amd64.deb"
  if [ ! -f "$kdeb" ]; then
    say "downloading $kpkg $kver_deb"
    (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$kpkg=$kver_deb" >/dev/null) ||
      die "apt-get download $kpkg=$kver_deb failed"
    [ -f "$kdeb" ] || die "apt-get download left no $kdeb"
  fi
else
  # No package lists (apt-get update never ran): fall back to the newest cached kernel, loudly.
  kdeb="$(find "$cache" -maxdepth 1 -name 'linux-image-*-amd64_*.deb' | sort -V | tail -n 1)"
  [ -n "$kdeb" ] || die "cannot resolve linux-image-amd64 (run apt-get update) and no kernel is cached"
  say "apt has no linux-image-amd64; using cached $(basename "$kdeb")"
fi
kpkg="$(dpkg-deb -f "$kdeb" Package)"
kver_deb="$(dpkg-deb -f "$kdeb" Version)"
kver="${kpkg#linux-image-}"
kroot="$cache/$kpkg-$kver_deb"
if [ ! -f "$kroot/.complete" ]; then
  say "unpacking $(basename "$kdeb")"
  rm -rf "$kroot"
  dpkg-deb -x "$kdeb" "$kroot"
  # The .deb ships no modules.dep (LAB-NOTES): generate it once for the whole tree.
  depmod -b "$kroot" "$kver"
  touch "$kroot/.complete"
fi
[ -f "$kroot/boot/vmlinuz-$kver" ] || die "$kdeb holds no boot/vmlinuz-$kver"
if [ "$fetch_only" = 1 ]; then say "kernel $kpkg $kver_deb ready in ${kroot#"$repo"/}"; exit 0; fi

# Dependency order as modprobe resolves it (LAB-NOTES: a hand-written order failed); first wins.
modprobe -d "$kroot" -S "$kver" --show-depends -a "${modules[@]}" >"$tmp/show-depends" ||
  die "modprobe --show-depends failed for: ${modules[*]}"
grep -q '^builtin ' "$tmp/show-depends" && say "built in: $(sed -n 's/^builtin //p' "$tmp/show-depends" | tr -d ' ' | tr '\n' ' ')"
sed -n 's/^insmod \([^ ]*\).*/\1/p' "$tmp/show-depends" | awk '!seen[$0]++' |
  sed "s#^$kroot/lib/modules/$kver/##" >"$tmp/modules.order"
[ -s "$tmp/modules.order" ] || die "no modules resolved for: ${modules[*]}"

# --- the agent ----------------------------------------------------------------------------------
# ESM output; grpc-js and protobufjs are CommonJS and call require(), which an ES module lacks.
"$esbuild" "$entry" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --legal-comments=none --outfile="$tmp/agent.mjs" \
  --banner:js="import { createRequire as __anvilCreateRequire } from 'node:module'; const require = __anvilCreateRequire(import.meta.url);" ||
  die "esbuild could not bundle $entry"

# --- fingerprint of every input -----------------------------------------------------------------
node_libs="$(ldd "$node_bin" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }')" || die "ldd $node_bin failed"
[ -n "$node_libs" ] || die "ldd lists no libraries for $node_bin"
ipmitool_libs="$(ldd "$ipmitool_bin" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }')" || die "ldd $ipmitool_bin failed"
[ -n "$ipmitool_libs" ] || die "ldd lists no libraries for $ipmitool_bin"
zstd_libs="$(ldd "$zstd_bin" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }')" || die "ldd $zstd_bin failed"
[ -n "$zstd_libs" ] || die "ldd lists no libraries for $zstd_bin"
# One copy of each library the programs load (libc, the loader, libm, libcrypto, libz).
libs="$(printf '%s\n' $node_libs $ipmitool_libs $zstd_libs | awk '!seen[$0]++')"
{
  echo "script $(sha256sum <"$0" | cut -d' ' -f1)"
  (cd "$here/bootenv-init" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  echo "kernel $(basename "$kdeb") $(stat -c %s "$kdeb")"
  cat "$tmp/modules.order"
  sha256sum /bin/busybox "$node_bin" "$ipmitool_bin" "$zstd_bin" $libs "$tmp/agent.mjs" "$proto" | sed "s# $tmp/# #"
  echo "zeroout.c $(sha256sum <"$repo/native/zeroout.c" | cut -d' ' -f1) cc $(cc --version | head -1)"
  echo "epoch ${SOURCE_DATE_EPOCH:-0}"
} >"$tmp/inputs"
if [ "$force" = 0 ] && [ -f "$out/.inputs" ] && cmp -s "$tmp/inputs" "$out/.inputs" &&
  (cd "$out" && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
  say "up to date: $out ($(basename "$kdeb"), agent from ${entry#"$repo"/})"
  exit 0
fi

# --- the initramfs tree -------------------------------------------------------------------------
root="$tmp/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,mnt,anvil}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
/bin/busybox --list-full | while read -r applet; do
  name="${applet##*/}"
  case "$skip_applets" in *" $name "*) continue ;; esac
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done
# Every mount the init makes and every applet it calls must exist, or the build is wrong.
for a in sh mount insmod ip udhcpc poweroff reboot sleep awk tr sync hostname; do
  [ -L "$root/bin/$a" ] || [ -L "$root/sbin/$a" ] || [ -L "$root/usr/bin/$a" ] || [ -L "$root/usr/sbin/$a" ] ||
    die "busybox lacks the $a applet"
done

strip --strip-all -o "$root/usr/bin/node" "$node_bin"
# Only the ipmitool binary (no ipmievd, no enterprise-numbers.txt: `lan print` opens neither).
strip --strip-all -o "$root/usr/bin/ipmitool" "$ipmitool_bin"
strip --strip-all -o "$root/usr/bin/zstd" "$zstd_bin"
# The install's zero chunks by BLKZEROOUT (native/zeroout.c): static, so it needs no library here.
cc -static -Os -Wall -Wextra -o "$tmp/anvil-zeroout" "$repo/native/zeroout.c" || die "cc could not build native/zeroout.c (static: libc6-dev)"
strip --strip-all -o "$root/usr/bin/anvil-zeroout" "$tmp/anvil-zeroout"
for lib in $libs; do
  mkdir -p "$root/$(dirname "$lib")"
  cp -L "$lib" "$root/$lib"
done

while read -r mod; do
  mkdir -p "$root/lib/modules/$kver/$(dirname "$mod")"
  cp "$kroot/lib/modules/$kver/$mod" "$root/lib/modules/$kver/$mod"
done <"$tmp/modules.order"
cp "$kroot/lib/modules/$kver"/modules.builtin{,.modinfo} "$root/lib/modules/$kver/"
cp "$tmp/modules.order" "$root/lib/modules/$kver/modules.order"
depmod -b "$root" "$kver"

install -m 0755 "$here/bootenv-init/init" "$root/init"
install -m 0755 "$here/bootenv-init/udhcpc.script" "$root/anvil/udhcpc.script"
install -m 0644 "$tmp/modules.order" "$root/anvil/modules.order"
install -m 0644 "$tmp/agent.mjs" "$root/anvil/agent.mjs"
install -m 0644 "$proto" "$root/anvil/provisioning.proto"
printf 'root:x:0:0:root:/root:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
node_version="$("$node_bin" --version)"
build_id="$(sha256sum "$tmp/inputs" | cut -c1-12)"
echo "$build_id ($kpkg, node $node_version)" >"$root/anvil/BUILD"

# --- archive: reproducible (sorted names, owner 0, fixed times) -----------------------------------
epoch="${SOURCE_DATE_EPOCH:-0}"
find "$root" -exec touch -h -d "@$epoch" {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$tmp/initramfs.cpio"
# /dev/console must be in the archive, or the kernel starts /init without a console; mknod would
# need root, so a second newc archive with the two device nodes is appended (the kernel unpacks
# concatenated archives: Documentation/driver-api/early-userspace/buffer-format.rst).
"$node_bin" - "$epoch" >>"$tmp/initramfs.cpio" <<'EOF'
const epoch = Number(process.argv[2])
const hex = (n) => n.toString(16).padStart(8, '0')
let ino = 0x7a000000
const entry = (name, mode, major, minor) => {
  const head = '070701' + [ino++, mode, 0, 0, 1, epoch, 0, 0, 0, major, minor, name.length + 1, 0].map(hex).join('')
  const pad = (n) => '\0'.repeat((4 - (n % 4)) % 4)
  return head + name + '\0' + pad(110 + name.length + 1)
}
process.stdout.write(entry('dev/console', 0o020600, 5, 1) + entry('dev/null', 0o020666, 1, 3) + entry('TRAILER!!!', 0, 0, 0))
EOF
raw_size="$(stat -c %s "$tmp/initramfs.cpio")"
zstd -q -3 -T0 --no-progress "$tmp/initramfs.cpio" -o "$tmp/initramfs.zst"

# --- outputs, each replaced atomically (a running server may be serving the old ones) ------------
cp "$kroot/boot/vmlinuz-$kver" "$tmp/vmlinuz"
(cd "$tmp" && sha256sum vmlinuz initramfs.zst) >"$tmp/SHA256SUMS"
finished="$(date +%s.%N)"
{
  echo "build: $build_id"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }') s"
  echo "kernel: $kpkg $kver_deb ($(basename "$kdeb"))"
  echo "busybox-static: $(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"
  echo "node: $node_version ($node_bin, $(dpkg-query -S "$node_bin" 2>/dev/null | cut -d: -f1 | head -n 1 || true) $(dpkg-query -W -f='${Version}' nodejs 2>/dev/null || true), stripped)"
  echo "node-libraries: $(echo $node_libs)"
  echo "ipmitool: $("$ipmitool_bin" -V 2>&1 | sed -n 's/^ipmitool version //p') ($ipmitool_bin, ipmitool $(dpkg-query -W -f='${Version}' ipmitool 2>/dev/null || echo unknown), stripped; libraries $(echo $ipmitool_libs))"
  echo "zstd: $("$zstd_bin" -V | sed -n 's/.*v\([0-9.]*\).*/\1/p') ($zstd_bin, zstd $(dpkg-query -W -f='${Version}' zstd 2>/dev/null || echo unknown), stripped; libraries $(echo $zstd_libs))"
  echo "agent: ${entry#"$repo"/} (esbuild $("$esbuild" --version)) sha256 $(sha256sum <"$tmp/agent.mjs" | cut -d' ' -f1)"
  echo "modules: $(wc -l <"$tmp/modules.order") ($(sed 's#.*/##; s#\.ko.*##' "$tmp/modules.order" | tr '\n' ' ' | sed 's/ $//'))"
  echo "compression: zstd -3 ($(zstd -V | sed -n 's/.*v\([0-9.]*\).*/\1/p'))"
  echo "sizes: vmlinuz $(stat -c %s "$tmp/vmlinuz"), initramfs.zst $(stat -c %s "$tmp/initramfs.zst"), initramfs raw $raw_size"
  echo "source-date-epoch: $epoch"
} >"$tmp/PROVENANCE"
for f in vmlinuz initramfs.zst SHA256SUMS PROVENANCE; do
  if ! cmp -s "$tmp/$f" "$out/$f" 2>/dev/null; then
    cp "$tmp/$f" "$out/.$f.tmp"
    chmod 0644 "$out/.$f.tmp"
    mv -f "$out/.$f.tmp" "$out/$f"
  fi
done
cp "$tmp/inputs" "$out/.inputs"
(cd "$out" && sha256sum --quiet -c SHA256SUMS) || die "SHA256SUMS do not verify in $out"
say "built $out in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: vmlinuz $(($(stat -c %s "$out/vmlinuz") / 1048576)) MiB, initramfs.zst $(($(stat -c %s "$out/initramfs.zst") / 1048576)) MiB ($(wc -l <"$tmp/modules.order") modules, node $node_version, $kpkg $kver_deb)"
