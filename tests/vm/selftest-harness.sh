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
#   todo        `harness_broken todo`: `not ok 2 ... # TODO` and exit 0.
#   exit127     `harness_broken exit127`: all cases ok, exit status 127.
#   missing     a test binary that is not in the initramfs.
#   dynamic     harness_broken linked dynamically: the VM has no loader, so
#               the exec fails (127) before any output.
#   noexec      a test whose interpreter is not executable (exec: 126).
#   script      a TAP script whose cases pass but which exits 3.
#   counted-exit  `make check`'s counting (count.sh) of a script that exits
#               non-zero without a FAIL line: verdict.sh run on the VM above
#               with no awk in its PATH.
#   debugfs     a VM booted with debugfs=off (mount -t debugfs fails), in
#               check mode with T="kvmmu.kunit kvmmu.failnth kmemleak kvm.dev".
#   precondition  the same VM on a kernel with KUnit, failslab and kmemleak
#               (debug): each of the three planned suites FAILs by name.
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

# run_vm <name> <T> <mods> [<tests> [<mode> [<kernel command line>]]]: boot
# a VM (default: selftest mode, build/selftests) and judge it
run_vm() {
	local name=$1 t=$2 mods=$3 tests=${4:-$BUILD/selftests} mode=${5:-selftest} append=${6:-}
	T="$t" "$VMDIR/initramfs.sh" "$k" "$out/$name.cpio.gz" --mode "$mode" --mods "$mods" \
		--tests "$tests" 2>"$out/$name-initramfs.log" || return 1
	KVMMU_APPEND="$append" "$VMDIR/run-qemu.sh" "$k" "$out/$name.cpio.gz" "$out/$name" --timeout 600 \
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

# /tests of the broken VM: harness_broken, and variants broken in how they
# are built or installed (see the list above)
tests="$out/tests"
mkdir -p "$tests"
cp "$BUILD/selftests/harness_broken" "$tests/"
${CC:-cc} -O2 -o "$tests/harness_dynamic" "$REPO/tests/selftests/harness_broken.c" 2>"$out/dynamic.log" ||
	fail dynamic-red "could not build the dynamic harness_broken" "$out/dynamic.log"
printf '#!/etc/kvmmu.conf\n' >"$tests/harness_noexec"
printf '#!/bin/sh\necho "TAP version 13"\necho 1..1\necho "ok 1 all fine"\nexit 3\n' >"$tests/harness_script"
chmod 755 "$tests/harness_noexec" "$tests/harness_script"

broken="selftest.fail selftest.hang selftest.todo selftest.exit127 selftest.missing"
broken="$broken selftest.dynamic selftest.noexec selftest.script"
# red <assertion> <test> <case regexp> <what>: the broken VM's verdict
# names <test>/<case> as a FAIL
red() {
	if grep -q "^FAIL $k/$2/$3" "$out/broken.verdict"; then
		pass "$1"
	else
		fail "$1" "verdict does not FAIL $2/$3 ($4)" "$out/broken.verdict"
	fi
}
if run_vm broken "$broken" "$BUILD/$k" "$tests"; then
	for a in fail hang todo exit127 missing dynamic noexec script; do
		fail "$a-red" "verdict stayed green" "$out/broken.verdict"
	done
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
	red todo-red selftest.todo "deliberate_failure   # TODO" "not ok # TODO"
	red exit127-red selftest.exit127 "exit   # exit status 127" "exit 127 after passing cases"
	red missing-red selftest.missing "missing-binary" "binary not in the initramfs"
	red dynamic-red selftest.dynamic "exit   # exit status 127" "dynamic binary, exec fails"
	red noexec-red selftest.noexec "exit   # exit status 126" "interpreter not executable"
	red script-red selftest.script "exit   # exit status 3" "script exits non-zero, cases pass"
fi

# make check's counting: verdict.sh that cannot run (no awk) prints nothing
# and exits non-zero; that must be a FAIL, not zero results.
mkdir -p "$out/noawk"
ln -sf "$(command -v tr)" "$out/noawk/tr"
(
	# shellcheck source-path=SCRIPTDIR source=count.sh
	. "$VMDIR/count.sh"
	run_counted "$k/verdict" env PATH="$out/noawk" "$VMDIR/verdict.sh" "$k" "$out/broken"
	summary
) >"$out/counted.txt" 2>&1 || true
if grep -q "^FAIL $k/verdict/exit" "$out/counted.txt" && tail -n 1 "$out/counted.txt" | grep -q '^0 passed, 1 failed$'; then
	pass counted-exit-red
else
	fail counted-exit-red "a counted script exiting non-zero without output was not a FAIL" "$out/counted.txt"
fi

# debugfs=off: the mount fails, and the suites that need debugfs lose their
# precondition. kvm.dev is there so that a stock kernel runs something.
if run_vm nodebugfs "kvmmu.kunit kvmmu.failnth kmemleak kvm.dev" "$BUILD/$k" "$BUILD/selftests" check debugfs=off; then
	fail debugfs-red "verdict stayed green with debugfs=off" "$out/nodebugfs.verdict"
elif grep -q "^FAIL $k/vm.mount/debugfs" "$out/nodebugfs.verdict"; then
	pass debugfs-red
else
	fail debugfs-red "verdict does not FAIL vm.mount/debugfs" "$out/nodebugfs.verdict"
fi
if grep -q '^CONFIG_KUNIT=y' "$KDIR/.config"; then
	nopre=
	for t in kvmmu.kunit kvmmu.failnth kmemleak; do
		grep -q "^FAIL $k/$t/precondition" "$out/nodebugfs.verdict" || nopre="$nopre $t"
	done
	if [ -z "$nopre" ]; then
		pass precondition-red
	else
		fail precondition-red "no precondition FAIL for:$nopre" "$out/nodebugfs.verdict"
	fi
else
	echo "ok harness/precondition-red # SKIP $k has no KUnit, failslab, kmemleak"
fi
exit $rc
