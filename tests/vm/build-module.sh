#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh <kernel> [--out DIR] [make args...]: build our module for
# one test kernel (stock61, stock612, debug), twice: as kvmmu.ko (/dev/kvmmu)
# and as kvm.ko (MODNAME=kvm, registers /dev/kvm). On kernels with
# CONFIG_KUNIT the kvmmu build also yields kvmmu_test.ko.
#
# kbuild's M= builds inside the source directory, so the top-level sources
# are copied into DIR/kvmmu and DIR/kvm first (default DIR: build/<kernel>).
# Extra make arguments are passed on (the harness self-test uses
# KCFLAGS=-DKVMMU_TEST_BROKEN_WARN). Any compiler or modpost warning fails
# the build: warnings are bugs on some other compiler/kernel.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${1:-}
valid_kernel "$kernel" || die "usage: build-module.sh stock61|stock612|debug [--out DIR] [make args]"
shift
out="$BUILD/$kernel"
if [ "${1:-}" = --out ]; then
	out=$2
	shift 2
fi
eval "$("$VMDIR/kernel.sh" "$kernel")"
: "${KDIR:?}"

ensure_pkgs build-essential libelf-dev

cd "$REPO"
shopt -s nullglob
srcs=(*.c *.h *.S Kbuild)
shopt -u nullglob
[ ${#srcs[@]} -gt 1 ] || die "no module sources at the top level of $REPO"

rc=0
for name in kvmmu kvm; do
	d="$out/$name"
	rm -rf "$d"
	mkdir -p "$d/tests"
	cp "${srcs[@]}" "$d/"
	[ -d tests/kunit ] && cp -r tests/kunit "$d/tests/"
	log "$kernel: building $name.ko in $d"
	if ! make -C "$KDIR" M="$d" MODNAME="$name" -j"${KVMMU_JOBS:-$(nproc)}" "$@" modules \
		>"$d/build.log" 2>&1; then
		cat "$d/build.log" >&2
		log "$kernel: $name.ko build FAILED"
		rc=1
		continue
	fi
	if grep -Eq '(warning|WARNING):' "$d/build.log"; then
		grep -E -B2 -A4 '(warning|WARNING):' "$d/build.log" >&2
		log "$kernel: $name.ko build has warnings (treated as errors)"
		rc=1
		continue
	fi
	[ -e "$d/$name.ko" ] || { log "$kernel: $d/$name.ko missing"; rc=1; }
	if grep -q '^CONFIG_KUNIT=y' "$KDIR/.config" && [ "$name" = kvmmu ] &&
		[ ! -e "$d/kvmmu_test.ko" ]; then
		log "$kernel: kvmmu_test.ko missing although the kernel has KUnit"
		rc=1
	fi
done
[ $rc -eq 0 ] && log "$kernel: modules in $out/kvmmu $out/kvm"
exit $rc
