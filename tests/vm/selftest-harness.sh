#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest-harness.sh <kernel>: the harness's own test. A harness that cannot
# see a failing or hanging test cannot be trusted to see a broken module, so
# deliberately broken variants are run in real VMs and the verdict must go
# RED and name the broken test:
#   kunit_warn  kvmmu_test.ko built with KCFLAGS=-DKVMMU_TEST_BROKEN_WARN has
#               a KUnit case that WARNs (KUnit itself passes it; only the
#               console scan can see it). Needs a KUnit kernel (debug).
#   fail        `harness_broken fail` prints "not ok".
#   hang        `harness_broken hang` never exits: the per-test timeout must
#               kill it, name it, and the run must still reach "done".
# Prints one `ok|FAIL harness/<name>` line per assertion (ok = the verdict
# correctly went red); exits 1 if any assertion failed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

k=${1:-debug}
valid_kernel "$k" || die "usage: selftest-harness.sh stock61|stock612|debug"
out="$BUILD/$k/harness-selftest"
rm -rf "$out"
mkdir -p "$out"
rc=0
pass() { echo "ok harness/$1"; }
fail() {
	echo "FAIL harness/$1   # $2"
	[ -e "${3:-}" ] && sed 's/^/    /' "$3" | head -n 30
	rc=1
}

# run_vm <name> <T> <mods>: boot a selftest-mode VM and judge it
run_vm() {
	local name=$1 t=$2 mods=$3
	T="$t" "$VMDIR/initramfs.sh" "$k" "$out/$name.cpio.gz" --mode selftest --mods "$mods" \
		2>"$out/$name-initramfs.log" || return 1
	"$VMDIR/run-qemu.sh" "$k" "$out/$name.cpio.gz" "$out/$name" --timeout 600 \
		2>"$out/$name-qemu.log" || true
	local vrc=0
	"$VMDIR/verdict.sh" "$k" "$out/$name" >"$out/$name.verdict" || vrc=$?
	return $vrc
}

eval "$("$VMDIR/kernel.sh" "$k")"
if grep -q '^CONFIG_KUNIT=y' "$KDIR/.config"; then
	if ! "$VMDIR/build-module.sh" "$k" --out "$out/mods" KCFLAGS=-DKVMMU_TEST_BROKEN_WARN \
		2>"$out/build.log"; then
		fail kunit_warn-red "could not build the broken kvmmu_test.ko" "$out/build.log"
	elif run_vm kunit_warn selftest.kunit_warn "$out/mods"; then
		fail kunit_warn-red "verdict stayed green on a WARNing KUnit case" "$out/kunit_warn.verdict"
	elif grep -q "^FAIL $k/selftest.kunit_warn/" "$out/kunit_warn.verdict"; then
		pass kunit_warn-red
	else
		fail kunit_warn-red "verdict red but does not name selftest.kunit_warn" "$out/kunit_warn.verdict"
	fi
else
	echo "ok harness/kunit_warn-red # SKIP $k has no KUnit"
fi

if run_vm broken "selftest.fail selftest.hang" "$BUILD/$k"; then
	fail fail-red "verdict stayed green" "$out/broken.verdict"
	fail hang-red "verdict stayed green" "$out/broken.verdict"
else
	if grep -q "^FAIL $k/selftest.fail/" "$out/broken.verdict" &&
		! grep -q "^FAIL $k/selftest.fail/\(missing-binary\|not-run\)" "$out/broken.verdict"; then
		pass fail-red
	else
		fail fail-red "verdict does not name selftest.fail as a failed case" "$out/broken.verdict"
	fi
	if grep -q "^FAIL $k/selftest.hang/timeout" "$out/broken.verdict" &&
		grep -q "^ok $k/vm/done-marker" "$out/broken.verdict"; then
		pass hang-red
	else
		fail hang-red "verdict does not show selftest.hang killed by its timeout with the run completing" \
			"$out/broken.verdict"
	fi
fi
exit $rc
