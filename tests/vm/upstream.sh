#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# upstream.sh: build upstream KVM selftests from linux-source-6.12, static,
# into $BUILD/upstream/ (cached per source version in $CACHE, never committed).
#
# Why: KVM's own tests are the strictest description of the ABI a VMM
# expects. They run against our module built as kvm.ko (it registers /dev/kvm
# and has the force_emulation_prefix parameter their constructor reads), and
# against stock kvm_amd in the control. Their arguments, reduced for TCG, are
# in tests/vm/upstream.list, the one place they are listed.
#
# Usage: tests/vm/upstream.sh        (prints nothing; output dir is fixed)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ensure_pkgs linux-source-6.12 xz-utils make gcc libc6-dev rsync
tarball=$(ls /usr/src/linux-source-6.12.tar.xz)
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
src="$CACHE/upstream-$ver"
out="$BUILD/upstream"
tests=$(grep -v '^#' "$VMDIR/upstream.list" | awk 'NF {print $1}' | sort -u)

mkdir -p "$CACHE"
exec 9>"$CACHE/upstream.lock"
flock 9

if [ ! -e "$src/.headers-done" ]; then
	log "extracting linux-source $ver and installing UAPI headers"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" --strip-components=1
	make -s -C "$src" ARCH=x86_64 headers >&2
	touch "$src/.headers-done"
fi

kst="$src/tools/testing/selftests/kvm"
targets=()
for t in $tests; do
	targets+=("$kst/$t")
done
log "building upstream selftests: $tests"
# -static: the test VM's initramfs has no shared libraries. OUTPUT: lib.mk
# sets it only at MAKELEVEL 0, and under `make check` we are deeper; without
# it the targets miss the rules that link libkvm in.
make -s -C "$kst" OUTPUT="$kst" LDFLAGS="-static -pthread" "${targets[@]}" >&2

rm -rf "$out"
mkdir -p "$out"
for t in $tests; do
	cp "$kst/$t" "$out/"
done
cp "$VMDIR/upstream.list" "$out/list"
