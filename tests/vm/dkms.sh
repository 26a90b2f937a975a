#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms.sh: prove that the top-level dkms.conf builds the module the way a
# user's machine would, with `dkms build` against the installed stock
# Debian 12 6.1 headers (linux-headers-amd64). dkms runs on private trees
# (--dkmstree/--sourcetree/--installtree in a temporary directory), so the
# machine's /var/lib/dkms and /usr/src are left alone. Exit 0 on success.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ensure_pkgs dkms linux-headers-amd64 build-essential libelf-dev
cd "$REPO"
[ -e dkms.conf ] || die "no dkms.conf at the top level"
kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[^ ,]*' | head -n1)
kver=${kver#linux-headers-}
pkg=$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf)
ver=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf)
if [ -z "$pkg" ] || [ -z "$ver" ]; then
	die "cannot read PACKAGE_NAME/PACKAGE_VERSION from dkms.conf"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmmu-dkms.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src="$tmp/src/$pkg-$ver"
mkdir -p "$src" "$tmp/tree" "$tmp/inst"
# what a release tarball would carry: sources, Kbuild, Makefile, dkms.conf
shopt -s nullglob
cp ./*.c ./*.h ./*.S Kbuild Makefile dkms.conf LICENSE "$src/" 2>/dev/null || true
shopt -u nullglob
[ -d tests/kunit ] && mkdir -p "$src/tests" && cp -r tests/kunit "$src/tests/"

opts=(--dkmstree "$tmp/tree" --sourcetree "$tmp/src" --installtree "$tmp/inst")
log "dkms add/build $pkg/$ver for $kver"
dkms add "${opts[@]}" -m "$pkg" -v "$ver"
# dkms signs what it builds; keep its throw-away signing key private too
# (it reads these variables unless /etc/dkms/framework.conf sets them)
if ! mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.pub" \
	dkms build "${opts[@]}" -m "$pkg" -v "$ver" -k "$kver"; then
	cat "$tmp/tree/$pkg/$ver/build/make.log" 2>/dev/null || true
	die "dkms build failed"
fi
ko=$(find "$tmp/tree/$pkg/$ver/$kver" -name "$pkg.ko*" | head -n1)
[ -n "$ko" ] || die "dkms build produced no $pkg.ko"
log "dkms build ok: ${ko#"$tmp"/}"
