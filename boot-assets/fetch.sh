#!/usr/bin/env bash
# Verifies the committed iPXE first stages (undionly.kpxe, snponly.efi, ipxe.efi) against the
# committed SHA256SUMS, and cross-checks them against Debian's `ipxe` package when it is at hand.
# --refresh moves them to another package version. Idempotent: run it as often as you like.
#
#   bash boot-assets/fetch.sh            # or: npm run boot-assets. Verify; restore a missing one.
#   bash boot-assets/fetch.sh --refresh  # take them from the package: rewrites the binaries,
#                                        # SHA256SUMS, PROVENANCE and licenses/ipxe-debian-copyright
#   bash boot-assets/fetch.sh --from-deb # use the .deb from apt even when the package is installed
#   bash boot-assets/fetch.sh --offline  # no apt-get download: verify against SHA256SUMS only
#
# The package, in order: the installed one (/usr/lib/ipxe, when dpkg says `ipxe` is installed),
# else the .deb from apt (`apt-get download ipxe` + `dpkg -x` in a temporary directory, no root
# needed, but the package lists and the network). Without --refresh a package that cannot be had
# is no error: the committed files are what Anvil serves, and SHA256SUMS vouches for them.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
files=(undionly.kpxe snponly.efi ipxe.efi)
refresh=0
from_deb=0
offline=0
for arg in "$@"; do
  case "$arg" in
    --refresh) refresh=1 ;;
    --from-deb) from_deb=1 ;;
    --offline) offline=1 ;;
    *) echo "usage: $0 [--refresh] [--from-deb] [--offline]" >&2; exit 2 ;;
  esac
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"  # apt-get download runs as _apt when root and must write here

pinned=''
if [ -f "$here/PROVENANCE" ]; then pinned="$(sed -n 's/^version: //p' "$here/PROVENANCE")"; fi

# Finds Debian's ipxe package: sets src (its /usr/lib/ipxe), doc (its /usr/share/doc/ipxe),
# version and origin, or leaves src empty and says why in `why`.
src='' doc='' version='' origin='' why=''
if [ "$from_deb" = 0 ] && [ "$(dpkg-query -W -f='${db:Status-Status}' ipxe 2>/dev/null || true)" = 'installed' ]; then
  version="$(dpkg-query -W -f='${Version}' ipxe)"
  src=/usr/lib/ipxe
  doc=/usr/share/doc/ipxe
  origin="the installed package (/usr/lib/ipxe)"
elif [ "$offline" = 1 ]; then
  why='--offline'
elif ! command -v apt-get >/dev/null 2>&1; then
  why='no apt-get here'
elif ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root ipxe >"$tmp/apt.log" 2>&1); then
  why="apt-get download ipxe failed: $(tail -n 1 "$tmp/apt.log")"
else
  deb="$(find "$tmp" -maxdepth 1 -name 'ipxe_*.deb' | head -n 1)"
  if [ -z "$deb" ]; then
    why='apt-get download ipxe produced no .deb'
  else
    version="$(dpkg-deb -f "$deb" Version)"
    dpkg -x "$deb" "$tmp/root"
    src="$tmp/root/usr/lib/ipxe"
    doc="$tmp/root/usr/share/doc/ipxe"
    origin="downloaded $(basename "$deb")"
  fi
fi

if [ -n "$src" ]; then
  mkdir -p "$tmp/out"
  for f in "${files[@]}"; do
    if [ ! -f "$src/$f" ]; then echo "fetch.sh: $f missing from ipxe $version ($src)" >&2; exit 1; fi
    cp "$src/$f" "$tmp/out/$f"
  done
fi

# Replaces boot-assets/$1 by the package's copy, atomically (a running server may be serving it).
install_file() {
  cp "$tmp/out/$1" "$here/.$1.tmp"
  chmod 0644 "$here/.$1.tmp"
  mv -f "$here/.$1.tmp" "$here/$1"
}

if [ "$refresh" = 1 ]; then
  if [ -z "$src" ]; then echo "fetch.sh --refresh needs Debian's ipxe package: $why" >&2; exit 1; fi
  for f in "${files[@]}"; do install_file "$f"; done
  (cd "$here" && sha256sum "${files[@]}") > "$here/SHA256SUMS"
  commit="$(printf '%s\n' "$version" | sed -n 's/.*git-[0-9]*\.\([0-9a-f]\{7,\}\)-.*/\1/p')"
  {
    echo "# The iPXE first stages committed in this directory, and where they come from."
    echo "# Written by fetch.sh --refresh; fetch.sh checks the files against SHA256SUMS and the package."
    echo "package: ipxe"
    echo "version: $version"
    echo "architecture: all"
    echo "from: Debian's binary package ipxe $version, /usr/lib/ipxe/ (copied unmodified)"
    echo "files: ${files[*]}"
    echo "source: https://snapshot.debian.org/package/ipxe/${version//+/%2B}/ (apt-get source ipxe=$version)"
    if [ -n "$commit" ]; then echo "upstream: https://github.com/ipxe/ipxe/commit/$commit"; fi
    echo "license: GPL-2.0-or-later; some files GPL-2.0-only or GPL-compatible (see COPYING and licenses/)"
    (cd "$here" && sha256sum "${files[@]}") | sed 's/^/sha256: /'
  } > "$here/PROVENANCE"
  mkdir -p "$here/licenses"
  if [ -f "$doc/copyright" ]; then cp "$doc/copyright" "$here/licenses/ipxe-debian-copyright"; fi
  (cd "$here" && sha256sum --quiet -c SHA256SUMS)
  echo "fetch.sh: boot-assets now hold ipxe $version from $origin; review and commit ${files[*]}, SHA256SUMS, PROVENANCE and licenses/"
  exit 0
fi

if [ -n "$src" ] && [ "$version" = "$pinned" ]; then
  # The pinned version: its bytes must be the committed ones.
  if ! (cd "$tmp/out" && sha256sum --quiet -c "$here/SHA256SUMS"); then
    echo "fetch.sh: ipxe $version from $origin does not match boot-assets/SHA256SUMS, which pins that very version" >&2
    exit 1
  fi
  # Put back a file that is missing or was changed in the working tree.
  for f in "${files[@]}"; do
    if ! cmp -s "$tmp/out/$f" "$here/$f" 2>/dev/null; then
      install_file "$f"
      echo "fetch.sh: restored $f from $origin"
    fi
  done
  checked="and are byte for byte Debian's ipxe $version ($origin)"
elif [ -n "$src" ]; then
  checked="(ipxe $version from $origin is not the pinned $pinned, so the committed files stay; to move to it: bash boot-assets/fetch.sh --refresh, review, commit)"
else
  checked="(not compared with Debian's package: $why)"
fi

if ! (cd "$here" && sha256sum --quiet -c SHA256SUMS); then
  echo "fetch.sh: boot-assets do not match SHA256SUMS; restore them with: git checkout -- boot-assets/" >&2
  exit 1
fi
echo "fetch.sh: ${files[*]} match SHA256SUMS (ipxe $pinned) $checked"
