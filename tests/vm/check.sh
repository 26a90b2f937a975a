#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: `make check`. For each kernel in $KERNELS (default: stock61
# stock612 debug): make the kernel ready, build our modules and the
# selftests, build the initramfs, boot the VM and judge it (verdict.sh).
# Then the counted checks: lint (checkpatch, W=1 C=1), dkms build on the
# stock 6.1 headers, the rst docs, and the harness self-test (deliberately
# broken tests must turn the verdict red). T=<substring> narrows the VM
# plan (and the counted checks) to matching names, for the inner loop.
# QEMU_KVMMU=0 leaves out the kvmmu.qemu_* tests (Debian's QEMU on kvmmu,
# issue 17): they are reported as skipped (initramfs.sh, init.sh).
# QEMU_PROBE=<s> and QEMU_REPEAT=<n> help chase an L2 guest that hangs
# (init.sh). QEMU_KIRQ=1 adds control.qemu_boot_pc (kvm_amd's in-kernel
# irqchip; flaky on TCG, so not by default). FUZZ_REPLAY=1 adds
# control.fuzz_replay (the fuzzer's phase 1 twice on kvm_amd; see init.sh).
# UPSTREAM_TDP0_DEBUG=0 leaves out the upstream selftests on the shadow
# MMU (tdp=0, kvm_amd npt=0) on the debug kernel.
#
# Every result is one line `ok|FAIL <name>` (count.sh); a counted script
# that exits non-zero without a FAIL line is a FAIL itself. The last lines
# are `kvmmu: N passed, N failed, N skipped` (ours: every group but the
# control, and the counted checks), `control (kvm_amd): N passed, N failed`
# (the <kernel>/control.* groups, stock kvm_amd) and, the very last line,
# exactly `N passed, N failed`, the two added up (skipped cases are in
# neither number); the exit status is 1 when anything failed.
# Logs: build/<kernel>/ (vm/console.log, vm/results.log), build/check/.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KERNELS=${KERNELS:-stock61 stock612 debug}
T=${T:-}
export T
for k in $KERNELS; do valid_kernel "$k" || die "unknown kernel '$k' in KERNELS"; done

CHK="$BUILD/check"
mkdir -p "$CHK"
: >"$CHK/results.txt"
: >"$CHK/timings.txt"
t_start=$SECONDS
COUNT_OUT="$CHK/results.txt"
# shellcheck source-path=SCRIPTDIR source=count.sh
. "$VMDIR/count.sh"

# check_cmd <name> <cmd...>: run a command as one counted check
check_cmd() {
	local name=$1 logf
	shift
	logf="$CHK/${name//\//_}.log"
	if "$@" >"$logf" 2>&1; then
		record "ok $name"
	else
		record "FAIL $name   # see $logf"
		tail -n 30 "$logf" | sed 's/^/    /' >&2
	fi
}
# want_check <name>: is this counted check selected by T=?
want_check() {
	local p
	[ -z "$T" ] && return 0
	for p in $T; do
		case "$1" in *"$p"*) return 0 ;; esac
	done
	return 1
}
timing() {
	echo "$1 $2" >>"$CHK/timings.txt"
	log "time: $1 $2 s"
}
log "kernels: $KERNELS${T:+, T=$T}"
ensure_pkgs build-essential flex bison bc libelf-dev libssl-dev kmod cpio xz-utils gzip \
	busybox-static qemu-system-x86 linux-headers-amd64 linux-source-6.12 sparse dkms perl \
	python3-docutils

# run_kernel <kernel>: make the kernel ready, build the module and the
# initramfs, run the VM, judge it.
run_kernel() {
	local k=$1 t0=$SECONDS
	if ! "$VMDIR/kernel.sh" "$k" >"$CHK/kernel-$k.out" 2>"$CHK/kernel-$k.log"; then
		record "FAIL $k/kernel   # see $CHK/kernel-$k.log"
		tail -n 30 "$CHK/kernel-$k.log" >&2
		return 0
	fi
	timing "kernel-$k" $((SECONDS - t0))
	t0=$SECONDS
	check_cmd "$k/build/module" "$VMDIR/build-module.sh" "$k"
	timing "module-$k" $((SECONDS - t0))
	if ! "$VMDIR/initramfs.sh" "$k" "$BUILD/$k/initramfs.cpio.gz" 2>"$CHK/initramfs-$k.log"; then
		record "FAIL $k/initramfs   # see $CHK/initramfs-$k.log"
		return 0
	fi
	t0=$SECONDS
	"$VMDIR/run-qemu.sh" "$k" "$BUILD/$k/initramfs.cpio.gz" "$BUILD/$k/vm" || true
	timing "vm-$k" $((SECONDS - t0))
	run_counted "$k/verdict" "$VMDIR/verdict.sh" "$k" "$BUILD/$k/vm"
}

t0=$SECONDS
check_cmd build/selftests make -C "$REPO/tests/selftests" OUT="$BUILD/selftests"
check_cmd build/upstream "$VMDIR/upstream.sh"
timing selftests-build $((SECONDS - t0))

# Two lanes, one per core: the debug kernel (the long pole: a 25-minute
# build when the cache is cold, then the slowest VM) in the background,
# the stock kernels and the host-side checks in the foreground. The build
# comes first, alone, so that it has both cores; the two lanes then run
# one TCG VM each. The debug lane's results go to a file and are counted
# here once it is done (record's counters live in this shell). With the
# tdp=0 upstream set on the debug kernel its VM is the longest (~3000 s),
# about stock 6.12's VM and stock 6.1's together (testing.rst, "CI time").
stock=
for k in $KERNELS; do [ "$k" = debug ] || stock="$stock $k"; done
lane_kernels=debug
lane_pid=
# kill_tree <pid>: the lane and what it started (run-qemu.sh, QEMU), when
# make check is interrupted
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}
trap '[ -z "$lane_pid" ] || kill_tree "$lane_pid"' EXIT
if [ "$KERNELS" != "${KERNELS/debug/}" ]; then
	t0=$SECONDS
	if ! "$VMDIR/kernel.sh" debug >/dev/null 2>"$CHK/kernel-debug.log"; then
		record "FAIL debug/kernel   # build failed, see $CHK/kernel-debug.log"
		tail -n 30 "$CHK/kernel-debug.log" >&2
	else
		timing kernel-debug-build $((SECONDS - t0))
		if [ -n "$stock" ]; then
			(
				COUNT_OUT=/dev/null
				for k in $lane_kernels; do run_kernel "$k"; done
			) >"$CHK/lane-debug.out" &
			lane_pid=$!
		else
			run_kernel debug
		fi
	fi
fi
for k in $stock; do
	run_kernel "$k"
done

# ---- counted checks ---------------------------------------------------------
if want_check lint; then
	t0=$SECONDS
	run_counted lint "$VMDIR/lint.sh"
	timing lint $((SECONDS - t0))
fi
if want_check dkms; then
	t0=$SECONDS
	check_cmd dkms/build "$VMDIR/dkms.sh"
	timing dkms $((SECONDS - t0))
fi
if want_check docs; then
	run_counted docs "$VMDIR/docs.sh"
fi
if [ -n "$lane_pid" ]; then
	t0=$SECONDS
	lane_rc=0
	wait "$lane_pid" || lane_rc=$?
	lane_pid=
	timing lane-debug-wait $((SECONDS - t0))
	while IFS= read -r line; do record "$line"; done <"$CHK/lane-debug.out"
	# A lane that died (killed, a stray error) must not pass by silence.
	if [ "$lane_rc" != 0 ]; then
		record "FAIL debug/lane   # the debug lane exited with status $lane_rc"
	else
		for k in $lane_kernels; do
			grep -q "^ok $k/vm\\|^FAIL $k/" "$CHK/lane-debug.out" ||
				record "FAIL $k/lane   # the debug lane gave no verdict for $k"
		done
	fi
fi
if want_check harness; then
	# on debug when it is in the run (KUnit), else on the first kernel
	hk=${KERNELS%% *}
	case " $KERNELS " in *" debug "*) hk=debug ;; esac
	t0=$SECONDS
	run_counted harness "$VMDIR/selftest-harness.sh" "$hk"
	timing harness-selftest $((SECONDS - t0))
fi

timing check-total $((SECONDS - t_start))
summary
[ $((k_failed + c_failed)) -eq 0 ]
