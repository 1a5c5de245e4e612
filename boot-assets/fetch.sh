#!/usr/bin/env bash
# Fills boot-assets/ with the iPXE first stages from Debian's `ipxe` package, then verifies them
# against the committed SHA256SUMS. Idempotent: run it as often as you like.
#
#   bash boot-assets/fetch.sh            # or: npm run boot-assets
#   bash boot-assets/fetch.sh --refresh  # accept a new package version: rewrite SHA256SUMS + PROVENANCE
#   bash boot-assets/fetch.sh --from-deb # ignore /usr/lib/ipxe, take the .deb from apt
#
# Source, in order: the installed package (/usr/lib/ipxe, when dpkg says `ipxe` is installed), else
# the .deb from apt (`apt-get download ipxe` + `dpkg -x` in a temporary directory, no root needed).
# The binaries are gitignored (boot-assets/.gitignore); SHA256SUMS and PROVENANCE are committed, so
# a different package version fails loudly until someone reviews it and runs --refresh.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
files=(undionly.kpxe snponly.efi ipxe.efi)
refresh=0
from_deb=0
for arg in "$@"; do
  case "$arg" in
    --refresh) refresh=1 ;;
    --from-deb) from_deb=1 ;;
    *) echo "usage: $0 [--refresh] [--from-deb]" >&2; exit 2 ;;
  esac
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"  # apt-get download runs as _apt when root and must write here

src=''
version=''
if [ "$from_deb" = 0 ] && [ "$(dpkg-query -W -f='${db:Status-Status}' ipxe 2>/dev/null || true)" = 'installed' ]; then
  version="$(dpkg-query -W -f='${Version}' ipxe)"
  src=/usr/lib/ipxe
  origin="installed package (/usr/lib/ipxe)"
else
  # apt-get download writes into the current directory; it needs the package lists (apt-get update).
  (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root ipxe >/dev/null)
  deb="$(find "$tmp" -maxdepth 1 -name 'ipxe_*.deb' | head -n 1)"
  if [ -z "$deb" ]; then echo "fetch.sh: apt-get download ipxe produced no .deb" >&2; exit 1; fi
  version="$(dpkg-deb -f "$deb" Version)"
  dpkg -x "$deb" "$tmp/root"
  src="$tmp/root/usr/lib/ipxe"
  origin="downloaded $(basename "$deb")"
fi

mkdir -p "$tmp/out"
for f in "${files[@]}"; do
  if [ ! -f "$src/$f" ]; then echo "fetch.sh: $f missing from ipxe $version ($src)" >&2; exit 1; fi
  cp "$src/$f" "$tmp/out/$f"
done
(cd "$tmp/out" && sha256sum "${files[@]}") > "$tmp/SHA256SUMS"

recorded=''
if [ -f "$here/PROVENANCE" ]; then
  recorded="$(sed -n 's/^version: //p' "$here/PROVENANCE")"
fi

if [ "$refresh" = 1 ] || [ ! -f "$here/SHA256SUMS" ] || [ -z "$recorded" ]; then
  cp "$tmp/SHA256SUMS" "$here/SHA256SUMS"
  printf 'package: ipxe\nversion: %s\nfiles: %s\n' "$version" "${files[*]}" > "$here/PROVENANCE"
  echo "fetch.sh: recorded ipxe $version in SHA256SUMS and PROVENANCE (review and commit them)"
elif [ "$recorded" != "$version" ]; then
  echo "fetch.sh: ipxe $version is installed/available, but boot-assets/PROVENANCE pins $recorded." >&2
  echo "          Review the new package, then run: bash boot-assets/fetch.sh --refresh" >&2
  exit 1
elif ! (cd "$tmp/out" && sha256sum --quiet -c "$here/SHA256SUMS"); then
  echo "fetch.sh: ipxe $version from $origin does not match boot-assets/SHA256SUMS" >&2
  exit 1
fi

# Replace only what differs, each file atomically (a running server may be serving the old one).
for f in "${files[@]}"; do
  if ! cmp -s "$tmp/out/$f" "$here/$f" 2>/dev/null; then
    cp "$tmp/out/$f" "$here/.$f.tmp"
    chmod 0644 "$here/.$f.tmp"
    mv -f "$here/.$f.tmp" "$here/$f"
  fi
done

(cd "$here" && sha256sum --quiet -c SHA256SUMS)
echo "fetch.sh: boot-assets hold ipxe $version (${files[*]}), verified against SHA256SUMS"
