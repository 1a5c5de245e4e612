#!/usr/bin/env bash
# Builds the Anvil node's disk image into boot-assets/images/: anvil-node-<version>.raw.zst (a
# whole GPT disk: GRUB for BIOS and UEFI, A/B boot slots with counters in grubenv, STATE) and
# anvil-node-<version>.manifest.json (anvil.dev/image/v1: sizes, SHA-256 per 4 MiB chunk, the
# layout), plus SHA256SUMS and PROVENANCE. See docs/image.md.
#
#   bash boot-assets/build-image.sh             # or: npm run build:image
#   bash boot-assets/build-image.sh --force     # rebuild even when no input changed
#   ... --out DIR                               # elsewhere (the reproducibility test builds twice)
#   ... --raw FILE                              # also keep the uncompressed disk (sparse)
#   ... --keep                                  # keep the work directory (printed) to inspect the parts
#
# Environment: SOURCE_DATE_EPOCH (every time stored in the image and the manifest's `created`;
# default: the commit time of HEAD, else 1980-01-01), ANVIL_IMAGE_VERSION (default package.json's:
# the lab builds a second version to upgrade to), ANVIL_IMAGE_SECURITY_VERSION (default 1),
# ANVIL_IMAGE_NODE (default `command -v node`), ANVIL_DATA_DIR (default ./var, as the sign step:
# its config.pub and image.pub, the public halves only, are baked into the root at /etc/anvil/keys/
# when present; without them the node trusts the config key its STATE holds and says so).
# Signing follows in src/image/sign-step.ts.
# Needs no root, no loop device and no mount. Debian packages: grub-common, grub-pc-bin,
# grub-efi-amd64-bin, dosfstools, mtools, squashfs-tools, busybox-static, cpio, zstd, kmod,
# binutils, libc6-dev and a C compiler (native/zeroout.c, static) (lab/setup.sh installs them); the kernel is the boot environment's (build-bootenv.sh
# --fetch-only downloads and unpacks it into boot-assets/.cache/); npm install done (tsx).
#
# Idempotent: the inputs are fingerprinted (images/.inputs); an unchanged build ends in seconds.
set -euo pipefail
umask 022 # file modes in the root and the archives must not depend on the caller's umask

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/images"
force=0
raw=''
keep=0
started="$(date +%s.%N)"

die () { echo "build-image: $*" >&2; exit 1; }
say () { echo "build-image: $*"; }
elapsed () { awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
phases=''
phase () { phases="$phases $1 $(elapsed)"; } # cumulative seconds at the end of each step, for PROVENANCE

while [ "$#" -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --out) out="$(mkdir -p "${2:?--out DIR}" && cd "$2" && pwd)"; shift ;;
    --keep) keep=1 ;;
    --raw) raw="$(cd "$(dirname "${2:?--raw FILE}")" && pwd)/$(basename "$2")"; shift ;;
    *) echo "usage: $0 [--force] [--out DIR] [--raw FILE] [--keep]" >&2; exit 2 ;;
  esac
  shift
done

name=anvil-node
version="${ANVIL_IMAGE_VERSION:-$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json" | head -n 1)}"
[ -n "$version" ] || die "no version in package.json"
# ANVIL_IMAGE_VERSION: another version of the same build (the upgrade tests build 0.2.0).
printf '%s' "$version" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$' || die "version $version is not semver"
security_version="${ANVIL_IMAGE_SECURITY_VERSION:-1}"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH="$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 315532800)"
fi
epoch="$SOURCE_DATE_EPOCH"
export SOURCE_DATE_EPOCH TZ=UTC LC_ALL=C
[ "$epoch" -ge 315532800 ] 2>/dev/null || die "SOURCE_DATE_EPOCH=$epoch: FAT stores no time before 1980-01-01 (315532800)"

# The root's modules, loaded by the root's init (disks, the server NICs the boot environment has,
# FAT and ext4 for the node's later work, the QEMU/Intel watchdog); the initramfs carries only
# what mounting the root needs: loop and squashfs.
root_modules=(virtio_pci virtio_net virtio_blk virtio_scsi nvme ahci libahci sd_mod
  e1000 e1000e igb ixgbe i40e ice bnxt_en tg3 mlx4_en mlx5_core r8169
  vfat nls_cp437 nls_iso8859_1 ext4 i6300esb 8021q)
initramfs_modules=(loop squashfs)
skip_applets=' getty login sulogin su passwd telnetd httpd ftpd crond '
grub_modules=(part_gpt fat normal configfile linux boot loadenv regexp test echo serial terminal minicmd true)

need () { command -v "$1" >/dev/null 2>&1 || die "$1 not found: install $2 (lab/setup.sh does)"; }
need grub-mkimage grub-common
need mkfs.vfat dosfstools
need mcopy mtools
need mshowfat mtools
need mksquashfs squashfs-tools
need cpio cpio
need zstd zstd
need strip binutils
need depmod kmod
need modprobe kmod
[ -f /usr/lib/grub/i386-pc/boot.img ] || die "/usr/lib/grub/i386-pc missing: install grub-pc-bin"
[ -f /usr/lib/grub/x86_64-efi/linux.mod ] || die "/usr/lib/grub/x86_64-efi missing: install grub-efi-amd64-bin"
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox missing or dynamic: install busybox-static"
node_bin="$(readlink -f "${ANVIL_IMAGE_NODE:-$(command -v node || true)}")"
[ -x "$node_bin" ] || die "node not found (set ANVIL_IMAGE_NODE)"
[ -f "$repo/node_modules/tsx/package.json" ] || die "tsx missing: run npm install"
esbuild="$repo/node_modules/.bin/esbuild"
[ -x "$esbuild" ] || die "$esbuild missing: run npm install (esbuild is a devDependency)"
proto="$repo/src/proto/provisioning.proto"
node_proto="$repo/src/proto/node.proto"
[ -f "$proto" ] || die "$proto missing"
keys_dir="${ANVIL_DATA_DIR:-$repo/var}"

# --- the kernel: the boot environment's, fetched and unpacked by its script ----------------------
fetched="$(bash "$here/build-bootenv.sh" --fetch-only)" || die "build-bootenv.sh --fetch-only failed"
kroot="$repo/$(echo "$fetched" | sed -n 's/.* ready in \(.*\)$/\1/p' | tail -n 1)"
[ -f "$kroot/.complete" ] || die "no unpacked kernel (build-bootenv.sh said: $fetched)"
kver="$(cd "$kroot/lib/modules" && ls | head -n 1)"
kpkg="linux-image-$kver"
kver_deb="${kroot##*/"$kpkg"-}"
vmlinuz="$kroot/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "$vmlinuz missing"

tmp="$(mktemp -d)"
if [ "$keep" = 1 ]; then say "work directory: $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
mkdir -p "$out"
[ -f "$out/.gitignore" ] || printf '*\n!.gitignore\n!README.md\n' >"$out/.gitignore"

module_order () { # NAME... -> insmod order relative to lib/modules/KVER, first wins
  modprobe -d "$kroot" -S "$kver" --show-depends -a "$@" | sed -n 's/^insmod \([^ ]*\).*/\1/p' |
    awk '!seen[$0]++' | sed "s#^$kroot/lib/modules/$kver/##"
}
module_order "${initramfs_modules[@]}" >"$tmp/initramfs.modules" || die "modprobe failed for ${initramfs_modules[*]}"
module_order "${root_modules[@]}" | grep -vxF -f "$tmp/initramfs.modules" >"$tmp/root.modules" || die "modprobe failed for ${root_modules[*]}"

# --- the node's program (machined, trustd, apid in one bundle), bundled as the boot environment bundles the agent
# ESM output; grpc-js and protobufjs are CommonJS and call require(), which an ES module lacks.
# Run from the repository: the bundle's module comments name paths relative to esbuild's working
# directory, so another working directory would give other bytes (the reproducibility test uses one).
(cd "$repo" && "$esbuild" src/node/main.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --legal-comments=none --outfile="$tmp/anvil-node.mjs" \
  --banner:js="import { createRequire as __anvilRequire } from 'node:module'; const require = __anvilRequire(import.meta.url);") ||
  die "esbuild could not bundle src/node/main.ts"

# --- the public keys baked in (never a secret key: only *.pub files are read) ---------------------
mkdir -p "$tmp/keys"
baked=''
for k in config image; do
  pub="$keys_dir/$k.pub"
  [ -f "$pub" ] || continue
  # A minisign public key file: an untrusted comment line, then `RW` + base64 of 42 bytes.
  [ "$(wc -l <"$pub")" -le 2 ] && sed -n 2p "$pub" | grep -Eq '^RW[A-Za-z0-9+/]{54}$' || die "$pub is not a minisign public key file"
  install -m 0644 "$pub" "$tmp/keys/$k.pub"
  baked="$baked $k.pub $(sha256sum <"$pub" | cut -d' ' -f1)"
done

node_libs="$(ldd "$node_bin" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }')"
[ -n "$node_libs" ] || die "ldd lists no libraries for $node_bin"
# zstd: an upgrade decompresses the new slot's frames through it (src/agent/install-decompress.ts),
# as the install does in the boot environment; Node 20 has no zstd.
zstd_bin="$(readlink -f "$(command -v zstd || true)")"
[ -x "$zstd_bin" ] || die "zstd not found: install zstd (lab/setup.sh does)"
zstd_libs="$(ldd "$zstd_bin" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }')" || die "ldd $zstd_bin failed"
root_libs="$(printf '%s\n' $node_libs $zstd_libs | awk '!seen[$0]++')"

# --- fingerprint of every input -------------------------------------------------------------------
{
  echo "script $(sha256sum <"$0" | cut -d' ' -f1) version $version sv $security_version epoch $epoch"
  (cd "$repo" && find boot-assets/node-init src/image -type f ! -name '*.test.ts' | LC_ALL=C sort | xargs sha256sum)
  sha256sum "$vmlinuz" /bin/busybox "$node_bin" "$zstd_bin" $root_libs /usr/lib/grub/i386-pc/*.img
  echo "zeroout.c $(sha256sum <"$repo/native/zeroout.c" | cut -d' ' -f1) cc $(cc --version | head -1)"
  cat "$tmp/initramfs.modules" "$tmp/root.modules"
  (cd "$tmp" && sha256sum anvil-node.mjs)
  sha256sum "$node_proto" | sed "s# $repo/# #"
  sha256sum "$proto" | sed "s# $repo/# #"
  echo "keys${baked:- none}"
  dpkg-query -W -f='${Package} ${Version}\n' grub-pc-bin grub-efi-amd64-bin dosfstools mtools squashfs-tools zstd cpio busybox-static 2>/dev/null || true
} >"$tmp/inputs"
if [ "$force" = 0 ] && [ -z "$raw" ] && [ "$keep" = 0 ] && [ -f "$out/.inputs" ] && cmp -s "$tmp/inputs" "$out/.inputs" &&
  (cd "$out" && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
  say "up to date: $out/$name-$version.raw.zst ($(elapsed) s)"
  exit 0
fi
build_id="$(sha256sum "$tmp/inputs" | cut -c1-12)"
phase inputs

stamp () { find "$1" -exec touch -h -d "@$epoch" {} +; }
busybox_tree () { # DIR: busybox with a link per applet, minus the ones that offer a login (one process, not 400 ln)
  mkdir -p "$1/bin"
  cp /bin/busybox "$1/bin/busybox"
  /bin/busybox --list-full | "$node_bin" -e '
    const { mkdirSync, symlinkSync } = require("node:fs")
    const [dir, skip] = [process.argv[1], new Set(process.argv[2].trim().split(/ +/))]
    for (const applet of require("node:fs").readFileSync(0, "utf8").split("\n")) {
      if (applet === "" || applet === "bin/busybox" || skip.has(applet.split("/").pop())) continue
      if (applet.includes("/")) mkdirSync(dir + "/" + applet.slice(0, applet.lastIndexOf("/")), { recursive: true })
      symlinkSync("/bin/busybox", dir + "/" + applet)
    }' "$1" "$skip_applets"
}
copy_modules () { # ORDER-FILE DIR
  while read -r mod; do
    mkdir -p "$2/lib/modules/$kver/$(dirname "$mod")"
    cp "$kroot/lib/modules/$kver/$mod" "$2/lib/modules/$kver/$mod"
  done <"$1"
}

# --- the read-only root: busybox, node, the node's init ------------------------------------------
root="$tmp/root"
mkdir -p "$root"/{etc/anvil,proc,sys,dev,run,tmp,var,mnt,root,usr/lib/anvil}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
busybox_tree "$root"
strip --strip-all -o "$root/usr/bin/node" "$node_bin"
strip --strip-all -o "$root/usr/bin/zstd" "$zstd_bin"
for lib in $root_libs; do mkdir -p "$root/$(dirname "$lib")"; cp -L "$lib" "$root/$lib"; done
# An upgrade's zero chunks by BLKZEROOUT (native/zeroout.c), as the install's: static, no library.
cc -static -Os -Wall -Wextra -o "$tmp/anvil-zeroout" "$repo/native/zeroout.c" || die "cc could not build native/zeroout.c (static: libc6-dev)"
strip --strip-all -o "$root/usr/bin/anvil-zeroout" "$tmp/anvil-zeroout"
copy_modules "$tmp/root.modules" "$root"
cp "$kroot/lib/modules/$kver"/modules.builtin{,.modinfo} "$root/lib/modules/$kver/"
cp "$tmp/root.modules" "$root/lib/modules/$kver/modules.order"
depmod -b "$root" "$kver"
install -m 0644 "$tmp/root.modules" "$root/usr/lib/anvil/modules.order"
rm -f "$root/sbin/init" # busybox's own init applet: never follow that link (it points at the host's /bin/busybox)
install -m 0755 "$here/node-init/root-init" "$root/sbin/init"
install -m 0644 "$tmp/anvil-node.mjs" "$root/usr/lib/anvil/anvil-node.mjs"
install -m 0644 "$proto" "$root/usr/lib/anvil/provisioning.proto"
install -m 0644 "$node_proto" "$root/usr/lib/anvil/node.proto"
install -m 0755 "$here/node-init/udhcpc.script" "$root/usr/lib/anvil/udhcpc.script"
if [ -n "$baked" ]; then
  mkdir -p "$root/etc/anvil/keys"
  for f in "$tmp/keys"/*.pub; do install -m 0644 "$f" "$root/etc/anvil/keys/"; done
fi
printf '{"name":"%s","version":"%s","build":"%s"}\n' "$name" "$version" "$build_id" >"$root/etc/anvil/release.json"
printf 'root:x:0:0:root:/root:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
ln -s /run/resolv.conf "$root/etc/resolv.conf"
stamp "$root"
# zstd -3 with 1 MiB blocks: level 15 saves 2.9 MB (of 40) for 30 s more on 2 busy cores (docs/image.md).
# (mksquashfs refuses SOURCE_DATE_EPOCH together with explicit times: give it the explicit ones.)
env -u SOURCE_DATE_EPOCH mksquashfs "$root" "$tmp/rootfs.sqsh" -comp zstd -Xcompression-level 3 -b 1M -noappend -all-root -no-xattrs \
  -mkfs-time "$epoch" -all-time "$epoch" -processors 2 -quiet -no-progress >/dev/null || die "mksquashfs failed"
phase root

# --- the initramfs: an uncompressed newc archive with the root and the console device, then a
# zstd newc archive with /init, busybox and two modules (the kernel unpacks concatenated archives,
# Documentation/driver-api/early-userspace/buffer-format.rst, as with early microcode). Device
# nodes are written by Node, not mknod, so the build needs no root.
init="$tmp/initramfs"
mkdir -p "$init"/{proc,sys,dev,run,tmp,newroot,anvil}
busybox_tree "$init"
copy_modules "$tmp/initramfs.modules" "$init"
install -m 0644 "$tmp/initramfs.modules" "$init/anvil/modules.order"
install -m 0755 "$here/node-init/init" "$init/init"
stamp "$init"
"$node_bin" - "$epoch" "$tmp/rootfs.sqsh" >"$tmp/initramfs.img" <<'EOF'
const { readFileSync } = require('node:fs')
const [epoch, sqsh] = [Number(process.argv[2]), readFileSync(process.argv[3])]
const hex = (n) => n.toString(16).padStart(8, '0')
const pad = (n) => Buffer.alloc((4 - (n % 4)) % 4)
let ino = 0x7a000000
const entry = (name, mode, data, major = 0, minor = 0) => {
  const head = '070701' + [ino++, mode, 0, 0, 1, epoch, data.length, 0, 0, major, minor, name.length + 1, 0].map(hex).join('')
  return Buffer.concat([Buffer.from(head + name + '\0'), pad(110 + name.length + 1), data, pad(data.length)])
}
const none = Buffer.alloc(0)
process.stdout.write(Buffer.concat([
  entry('dev', 0o040755, none), entry('dev/console', 0o020600, none, 5, 1), entry('dev/null', 0o020666, none, 1, 3),
  entry('rootfs.sqsh', 0o100444, sqsh), entry('TRAILER!!!', 0, none)
]))
EOF
(cd "$init" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
  zstd -q -19 -T2 --no-progress >>"$tmp/initramfs.img"
phase initramfs

# --- GRUB: core.img for the BIOS boot partition, BOOTX64.EFI at the removable-media path ---------
# The prefix names partition 2 (the ESP) of whichever disk the firmware booted (GRUB fills in the
# drive: kern/main.c grub_set_prefix_and_root), so the image works as any BIOS drive or EFI disk.
grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -p '(,gpt2)/grub' -o "$tmp/core.img" biosdisk "${grub_modules[@]}"
grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -p '(,gpt2)/grub' -o "$tmp/BOOTX64.EFI" "${grub_modules[@]}" efi_gop
phase grub

# --- the disk, the manifest ------------------------------------------------------------------------
mkdir -p "$tmp/work" "$tmp/out"
(cd "$repo" && "$node_bin" --import tsx src/image/build.ts --work "$tmp/work" --out "$tmp/out" \
  --name "$name" --version "$version" --epoch "$epoch" --security-version "$security_version" \
  --kernel "$vmlinuz" --initramfs "$tmp/initramfs.img" --core-img "$tmp/core.img" \
  --boot-img /usr/lib/grub/i386-pc/boot.img --efi "$tmp/BOOTX64.EFI" ${raw:+--raw "$raw"}) || die "src/image/build.ts failed"
phase disk

artifact="$name-$version.raw.zst"
manifest="$name-$version.manifest.json"
(cd "$tmp/out" && sha256sum "$artifact" "$manifest") >"$tmp/out/SHA256SUMS"
{
  echo "build: $build_id"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(elapsed) s"
  echo "image: $name $version, securityVersion $security_version, source-date-epoch $epoch"
  echo "kernel: $kpkg $kver_deb (${kpkg}_${kver_deb}_amd64.deb; vmlinuz sha256 $(sha256sum <"$vmlinuz" | cut -d' ' -f1))"
  echo "node: $("$node_bin" --version) ($node_bin, $(dpkg-query -W -f='${Version}' nodejs 2>/dev/null || echo unknown), stripped); libraries $(echo $node_libs)"
  echo "debian: $(dpkg-query -W -f='${Package}=${Version} ' grub-pc-bin grub-efi-amd64-bin dosfstools mtools squashfs-tools zstd cpio busybox-static 2>/dev/null)"
  echo "node program: src/node/main.ts (machined, trustd, apid; esbuild $("$esbuild" --version)) sha256 $(sha256sum <"$tmp/anvil-node.mjs" | cut -d' ' -f1), $(stat -c %s "$tmp/anvil-node.mjs") bytes"
  if [ -n "$baked" ]; then echo "keys: baked into /etc/anvil/keys from $keys_dir:$baked (sha256 of each .pub)"
  else echo "keys: none baked (no config.pub or image.pub in $keys_dir): the node trusts the config key in its STATE"; fi
  echo "grub-modules: ${grub_modules[*]} (+ biosdisk for BIOS, efi_gop for UEFI); prefix (,gpt2)/grub"
  echo "initramfs-modules: $(sed 's#.*/##; s#\.ko.*##' "$tmp/initramfs.modules" | tr '\n' ' ')"
  echo "root-modules: $(wc -l <"$tmp/root.modules") ($(sed 's#.*/##; s#\.ko.*##' "$tmp/root.modules" | tr '\n' ' ' | sed 's/ $//'))"
  echo "sizes: rootfs.sqsh $(stat -c %s "$tmp/rootfs.sqsh") (zstd -3, 1 MiB blocks), initramfs.img $(stat -c %s "$tmp/initramfs.img"), vmlinuz $(stat -c %s "$vmlinuz"), BOOTX64.EFI $(stat -c %s "$tmp/BOOTX64.EFI")"
  cat "$tmp/work/provenance.txt"
  echo "phases (cumulative s):$phases"
} >"$tmp/out/PROVENANCE"

# Signing is the next step of `npm run build:image` (src/image/sign-step.ts): it writes
# anvil-node-<version>.minisig over the manifest's exact bytes, after SHA256SUMS, which do not list it.

# --- outputs, each replaced atomically --------------------------------------------------------------
for f in "$artifact" "$manifest" SHA256SUMS PROVENANCE; do
  [ -f "$tmp/out/$f" ] || continue
  if ! cmp -s "$tmp/out/$f" "$out/$f" 2>/dev/null; then
    cp "$tmp/out/$f" "$out/.$f.tmp"
    chmod 0644 "$out/.$f.tmp"
    mv -f "$out/.$f.tmp" "$out/$f"
  fi
done
cp "$tmp/inputs" "$out/.inputs"
(cd "$out" && sha256sum --quiet -c SHA256SUMS) || die "SHA256SUMS do not verify in $out"
say "built $out/$artifact in $(elapsed) s: $(stat -c %s "$out/$artifact") bytes ($(sed -n 's/^image: \([0-9]*\) bytes raw.*/\1/p' "$tmp/out/PROVENANCE") raw), initramfs.img $(stat -c %s "$tmp/initramfs.img"), $kpkg, node $("$node_bin" --version)"
