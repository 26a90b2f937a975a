#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# init.sh: /init of the test VM (busybox ash). It runs the test PLAN for one
# kernel and writes everything the verdict needs to the second serial port
# (/dev/ttyS1): a line per harness step, the raw TAP/KTAP of every test, and
# a final "done" marker. Before each step it writes a marker line to
# /dev/kmsg so that kernel reports on the console (ttyS0) can be pinned to
# the test that was running. Each test runs under a timeout, so a hang is
# reported by name and the run goes on. The VM always ends with reboot -f
# (QEMU runs with -no-reboot; tinyconfig has no ACPI for poweroff).
#
# /etc/kvmmu.conf (written by initramfs.sh) sets:
#   KERNEL   stock61 | stock612 | debug (used in markers)
#   MODE     check | selftest | shell | bench | bench-smp | bench-rw |
#            bench-shadow | demo | qemu-demo
#   T        space-separated substrings of test names to run (empty: all)
#   TIMEOUT  per-test timeout in seconds
#   HAVE_DEBUGFS HAVE_KUNIT HAVE_FAILSLAB HAVE_KMEMLEAK HAVE_PAGE_IDLE HAVE_INET
#            1 when the kernel's config has it (initramfs.sh reads it on
#            the host): a suite the kernel should run is planned from
#            these, and a missing precondition in the VM is a FAIL, not a
#            suite quietly left out
#   HAVE_QEMU   1 when Debian's QEMU and its L2 guest are in /qemu
#   QEMU_KVMMU  0 to leave out the kvmmu.qemu_* tests (SKIPped by name);
#               1 (default) runs them
#   QEMU_PROBE  debugging: seconds after which a still-running L2 boot is
#               shown (registers, code, LAPIC, PIC/IOAPIC) over QMP and
#               killed; 0 (default) waits for $TIMEOUT as usual
#   QEMU_REPEAT debugging: run the selected qemu tests this many times
#   QEMU_KIRQ   1 adds control.qemu_boot_pc (kvm_amd's in-kernel irqchip,
#               which hangs in about half of its boots on TCG) on stock612
#   FUZZ_REPLAY 1 adds control.fuzz_replay (the fuzzer's phase 1 again on
#               kvm_amd, compared with its own record) on stock612
#   QEMU_TDP    0 loads kvmmu's kvm.ko for the kvmmu.qemu_* tests with
#               tdp=0 (the shadow MMU); 1 (default) with NPT
#   UPSTREAM_TDP0_DEBUG 0 leaves out the upstream list on the shadow MMU
#               (kvm.upstream_tdp0.*, control.upstream_npt0.*) on debug;
#               1 (default) runs it
#
# Result-port protocol (all lines start with "kvmmu-harness: "):
#   plan <test>...            tests this run intends to run
#   begin <test>              output until "end" belongs to <test>
#   end <test> rc=<n>         exit status (137 = killed by the timeout)
#   check <test> ok|FAIL|SKIP <case> [reason]   a harness-own check
#   done                      the run completed

PATH=/bin:/sbin
export PATH
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
# reported once the result port is open
debugfs_err=$(mount -t debugfs debugfs /sys/kernel/debug 2>&1) && debugfs_err=
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mount -t tmpfs tmpfs /tmp

KERNEL=unknown
MODE=check
T=
TIMEOUT=600
HAVE_DEBUGFS=0
HAVE_KUNIT=0
HAVE_FAILSLAB=0
HAVE_KMEMLEAK=0
HAVE_PAGE_IDLE=0
FUZZ_SEEDS="1 2 3"
FUZZ_CALLS=40000
FUZZ_GUESTS=100
FUZZ_DIFF=1
FUZZ_REPLAY=0
BENCH_QUICK=0
BENCH_QEMU_TIMEOUT=300
BENCH_SHADOW_QEMU_TIMEOUT=900
HAVE_INET=0
HAVE_QEMU=0
QEMU_KVMMU=1
QEMU_PROBE=0
QEMU_REPEAT=1
QEMU_KIRQ=0
QEMU_TDP=1
UPSTREAM_TDP0_DEBUG=1
# shellcheck disable=SC1091
. /etc/kvmmu.conf

if [ -c /dev/ttyS1 ]; then
	stty -F /dev/ttyS1 raw -echo 2>/dev/null || true
	exec 3>/dev/ttyS1
else
	echo "kvmmu-harness: no /dev/ttyS1, results go to the console" >/dev/console
	exec 3>/dev/console
fi

say() { echo "kvmmu-harness: $*" >&3; }
kmsg() { echo "kvmmu-harness: $*" >/dev/kmsg; }
# mark <test>: this test starts now (console attribution + results framing)
mark() {
	kmsg "begin $KERNEL/$1"
	say "begin $1"
}
check() { say "check $*"; }
finish() {
	kmsg "done $KERNEL"
	say "done"
	sync
	reboot -f
	sleep 10
}

# The debugfs mount: a FAIL when the kernel has debugfs (every suite that
# reads it would otherwise go quiet), named vm.mount.
mount_check() {
	if [ "$HAVE_DEBUGFS" != 1 ]; then
		check vm.mount SKIP debugfs "kernel has no CONFIG_DEBUG_FS"
	elif [ -z "$debugfs_err" ]; then
		check vm.mount ok debugfs
	else
		check vm.mount FAIL debugfs "mount -t debugfs failed: $(echo "$debugfs_err" | head -n 1)"
	fi
}

# hostmem_test: run-qemu.sh always adds ivshmem-plain; page_idle is there
# when the kernel's config has it. Missing, either is a FAIL, not a skip.
HOSTMEM_REQ="KVMMU_REQUIRE_IVSHMEM=1 KVMMU_REQUIRE_PAGE_IDLE=$HAVE_PAGE_IDLE"

# Suites that need something of the kernel: planned when the kernel's config
# says it has it (or when it is there), run only when it is there. A planned
# suite whose precondition is missing is FAILed by name (precondition).
PLAN_KUNIT=$HAVE_KUNIT
PLAN_FAILNTH=$HAVE_FAILSLAB
PLAN_KMEMLEAK=$HAVE_KMEMLEAK
[ -d /sys/kernel/debug/kunit ] && PLAN_KUNIT=1
[ -d /sys/kernel/debug/failslab ] && PLAN_FAILNTH=1
[ -e /sys/kernel/debug/kmemleak ] && PLAN_KMEMLEAK=1
# precondition <test> <path> <what>: is <path> there? If not, FAIL <test>
# (when it is selected) and return 1.
precondition() {
	[ -e "$2" ] && return 0
	want "$1" || return 1
	mark "$1"
	check "$1" FAIL precondition "$2 missing although the kernel has $3"
	return 1
}
# preconditions: check every planned suite's, once, before anything runs
preconditions() {
	if [ "$PLAN_KUNIT" = 1 ]; then
		precondition kvmmu.kunit /sys/kernel/debug/kunit "CONFIG_KUNIT_DEBUGFS" || PLAN_KUNIT=0
	fi
	if [ "$PLAN_FAILNTH" = 1 ]; then
		precondition kvmmu.failnth /sys/kernel/debug/failslab "CONFIG_FAILSLAB" || PLAN_FAILNTH=0
	fi
	if [ "$PLAN_KMEMLEAK" = 1 ]; then
		precondition kmemleak /sys/kernel/debug/kmemleak "CONFIG_DEBUG_KMEMLEAK" || PLAN_KMEMLEAK=0
	fi
	return 0
}

# want <test>: does the T= filter select this test? T holds one or more
# space-separated substrings.
want() {
	[ -z "$T" ] && return 0
	for _p in $T; do
		case "$1" in *"$_p"*) return 0 ;; esac
	done
	return 1
}
# want_any <test>...: is at least one of these selected?
want_any() {
	for _t in "$@"; do want "$_t" && return 0; done
	return 1
}

# run_bin <test> <timeout> "<VAR=val ...>" <binary> [args...]: run a test
# binary from /tests with that environment, output to the result port.
run_bin() {
	_t=$1 _to=$2 _env=$3 _bin=$4
	shift 4
	mark "$_t"
	if [ ! -x "/tests/$_bin" ]; then
		check "$_t" FAIL missing-binary "/tests/$_bin was not built"
		say "end $_t rc=127"
		return 1
	fi
	say "env $_env"
	if [ -n "${RUN_POST:-}" ]; then
		# into a file for $RUN_POST to read, then to the result port
		# shellcheck disable=SC2086
		env $_env timeout -s KILL "$_to" "/tests/$_bin" "$@" >/tmp/run.out 2>&1 </dev/null
		_rc=$?
		cat /tmp/run.out >&3
		"$RUN_POST" "$_t" "$_rc" /tmp/run.out
	else
		# shellcheck disable=SC2086
		env $_env timeout -s KILL "$_to" "/tests/$_bin" "$@" >&3 2>&3 </dev/null
		_rc=$?
	fi
	say "end $_t rc=$_rc"
	return $_rc
}

# load_stock [<test>] [<module> <param>...]: insmod the kernel's own kvm
# stack in dependency order (/stock/order, computed on the host with
# modinfo), reported as <test> (control.load); <module> (e.g. kvm_amd) gets
# the module parameters <param>... (e.g. npt=0).
load_stock() {
	_ok=0 _lt=${1:-control.load} _pm=
	[ $# -ge 2 ] && { _pm=$2; shift 2; }
	while read -r _m; do
		_pa=
		[ "$(echo "$_m" | tr - _)" = "$_pm" ] && _pa="$*"
		# shellcheck disable=SC2086
		if insmod "/stock/$_m.ko" $_pa >/dev/null 2>&1 || [ -d "/sys/module/$(echo "$_m" | tr - _)" ]; then
			check "$_lt" ok "insmod:$_m"
		else
			check "$_lt" FAIL "insmod:$_m" "insmod failed"
			_ok=1
		fi
	done </stock/order
	return $_ok
}
unload_stock() {
	_ok=0 _lt=${1:-control.unload}
	# reverse order
	for _m in $(tac /stock/order); do
		_n=$(echo "$_m" | tr - _)
		[ -d "/sys/module/$_n" ] || continue
		if rmmod "$_n"; then
			check "$_lt" ok "rmmod:$_n"
		else
			check "$_lt" FAIL "rmmod:$_n" "rmmod failed"
			_ok=1
		fi
	done
	return $_ok
}

# load_ours <test> <file> [<param>...]: insmod one of our modules, with
# these module parameters (e.g. tdp=0)
load_ours() {
	mark "$1"
	if [ ! -e "/kvmmu/$2" ]; then
		check "$1" FAIL "insmod:$2" "module was not built"
		return 1
	fi
	_lo_t=$1 _lo_f=$2
	shift 2
	if insmod "/kvmmu/$_lo_f" "$@"; then
		check "$_lo_t" ok "insmod:$_lo_f"
	else
		check "$_lo_t" FAIL "insmod:$_lo_f" "insmod failed"
		return 1
	fi
}
unload_ours() {
	mark "$1"
	[ -d "/sys/module/$2" ] || return 0
	if rmmod "$2"; then
		check "$1" ok "rmmod:$2"
	else
		check "$1" FAIL "rmmod:$2" "rmmod failed"
		return 1
	fi
}

# collect_kunit <test>: copy every suite's self-contained KTAP from debugfs
collect_kunit() {
	_found=0
	for _r in /sys/kernel/debug/kunit/*/results; do
		[ -e "$_r" ] || continue
		_found=1
		cat "$_r" >&3
	done
	[ $_found = 1 ] || check "$1" FAIL results "no /sys/kernel/debug/kunit/*/results"
}

# upstream_lines: one line per test of /tests/upstream.list, its name first
# (the binary; its second line of other arguments is <binary>.2, the third
# <binary>.3, ...), then the binary and its arguments.
upstream_lines() {
	[ -e /tests/upstream.list ] || return 0
	awk '!/^#/ && NF { n = $1; if (c[$1]++) n = n "." c[$1]; print n, $0 }' /tests/upstream.list
}

# idle_check <test> <rc> <output>: access_tracking_perf_test's idle-page
# accuracy (at most 10% of the pages the guest wrote or read may still read
# idle) asserts only when CPUID.1:ECX.HYPERVISOR is clear. QEMU sets that bit
# in our test VM, so the test merely prints a WARNING: fail on it here, and
# fail too if its output shows no pass of marking memory idle (the check
# would not have run).
idle_check() {
	[ "$2" = 0 ] || return 0
	_w=$(grep -m1 'Too many pages still idle' "$3")
	if [ -n "$_w" ]; then
		check "$1" FAIL idle-pages "$_w"
	elif [ "$(grep -c '^Mark memory idle' "$3")" -lt 2 ]; then
		check "$1" FAIL idle-pages "no two 'Mark memory idle' passes in the output"
	else
		check "$1" ok idle-pages
	fi
}

# upstream_names <prefix>: the names of the upstream tests, as <prefix>.<name>
upstream_names() {
	upstream_lines | awk -v p="$1" '{ printf "%s.%s ", p, $1 }'
}

# The upstream tests that run against stock kvm_amd on the debug kernel too.
UPSTREAM_DEBUG_CONTROL=access_tracking_perf_test

# run_upstream <prefix> <env> [<binary>...]: run every upstream KVM selftest
# of upstream_lines (or only those of these binaries) as <prefix>.<name>.
run_upstream() {
	_pre=$1 _env=$2
	shift 2
	_only=$*
	upstream_lines | while read -r _n _b _args; do
		if [ -n "$_only" ]; then
			case " $_only " in *" $_b "*) ;; *) continue ;; esac
		fi
		want "$_pre.$_n" || continue
		RUN_POST=
		[ "$_b" = access_tracking_perf_test ] && RUN_POST=idle_check
		# shellcheck disable=SC2086
		run_bin "$_pre.$_n" "$TIMEOUT" "$_env" "$_b" $_args </dev/null || true
		RUN_POST=
	done
}

# fuzz_args: ioctl_fuzz's seeds and sizes (make check: three seeds, make
# fuzz: what it sets).
fuzz_args() {
	for _s in $FUZZ_SEEDS; do printf ' -s %s' "$_s"; done
	printf ' -n %s -g %s' "$FUZZ_CALLS" "$FUZZ_GUESTS"
}

# ---- plan -----------------------------------------------------------------

group_control() {
	# shellcheck disable=SC2046
	want_any control.guest control.string_io control.guest_test control.hardening control.vcpu_state control.msr control.events control.hostmem control.race control.memslot_test control.fuzz control.fuzz_replay $(upstream_names control.upstream) || return 0
	mark control.load
	if ! load_stock; then
		check control.guest FAIL guest "stock kvm stack did not load"
		unload_stock || true
		return 0
	fi
	if want control.guest; then
		run_bin control.guest "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" control_guest || true
	fi
	if want control.string_io; then
		run_bin control.string_io "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" string_io_test || true
	fi
	# guest_test skips its kvmmu-only cases (debugfs, tracepoints, the
	# module refcount) by name under KVMMU_STOCK=1. Not on the debug
	# kernel: the control shows the expectations are KVM's, once per
	# stock kernel is enough, and its races and gpa_scan are the slowest
	# part of the debug run.
	if want control.guest_test && [ "$KERNEL" != debug ]; then
		run_bin control.guest_test "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" guest_test || true
	fi
	if want control.hardening; then
		run_bin control.hardening "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" hardening_test || true
	fi
	if want control.vcpu_state; then
		run_bin control.vcpu_state "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" vcpu_state_test || true
	fi
	if want control.msr; then
		run_bin control.msr "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" msr_test || true
	fi
	if want control.events; then
		run_bin control.events "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" events_test || true
	fi
	if want control.hostmem; then
		run_bin control.hostmem "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1 $HOSTMEM_REQ" hostmem_test || true
	fi
	if want control.race && [ "$KERNEL" != debug ]; then
		run_bin control.race "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" race_test || true
	fi
	if want control.memslot_test && [ "$KERNEL" != debug ]; then
		run_bin control.memslot_test "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1 KVMMU_MODULE=kvm" memslot_test || true
	fi
	# The fuzzer's ioctl phase, its results recorded for kvmmu.fuzz's
	# differential pass, and its random guests (no chaos phase: its
	# interleaving is not reproducible, and it checks the host's health,
	# which is kvmmu's business). On stock612 only: the debug kernel for
	# time, and under stock 6.1's kvm_amd (in TCG) seed 2's phase 1 left
	# CPU 0 stuck (RCU stalls, no NMI backtrace) until the VM timed out;
	# kvmmu runs the same sequence there. Its record is only compared
	# on stock612 anyway.
	if want control.fuzz && [ "$KERNEL" = stock612 ]; then
		rm -f /tmp/fuzz.kvm.*
		# shellcheck disable=SC2046
		run_bin control.fuzz "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" ioctl_fuzz \
			$(fuzz_args) -p 12 -r /tmp/fuzz.kvm || true
	fi
	# The differential pass assumes phase 1 gives the same results every
	# time on one device: phase 1 again on the control, compared with
	# its own record, checks that. Only with FUZZ_REPLAY=1: each run of
	# seed 2's phase 1 on kvm_amd in TCG risks the hang described above
	# (it struck here once, on stock612, in a CI run; 0 of 13 since), and
	# kvmmu.fuzz's differential pass would show a nondeterministic phase 1
	# as differences anyway.
	if want control.fuzz_replay && [ "$KERNEL" = stock612 ] &&
		[ "$FUZZ_REPLAY" = 1 ]; then
		# shellcheck disable=SC2046
		run_bin control.fuzz_replay "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" ioctl_fuzz \
			$(fuzz_args) -p 1 -c /tmp/fuzz.kvm || true
	fi
	# Not on the debug kernel (nor control.memslot_test): the control shows
	# the tests are right, once per stock kernel is enough, and under KASAN
	# they take 15 minutes. Except access_tracking_perf_test: it needs
	# page_idle, which only the debug kernel has.
	if [ "$KERNEL" = debug ]; then
		run_upstream control.upstream "KVMMU_STOCK=1" $UPSTREAM_DEBUG_CONTROL
	else
		run_upstream control.upstream "KVMMU_STOCK=1"
	fi
	mark control.unload
	unload_stock || true
}

group_kvmmu() {
	_tests="kvmmu.memslot_test kvmmu.guest kvmmu.string_io kvmmu.hardening kvmmu.vcpu_state kvmmu.msr kvmmu.events kvmmu.hostmem kvmmu.guest_test kvmmu.race kvmmu.fuzz"
	[ "$PLAN_FAILNTH" = 1 ] && _tests="$_tests kvmmu.failnth"
	[ "$PLAN_KUNIT" = 1 ] && _tests="$_tests kvmmu.kunit"
	# shellcheck disable=SC2086
	want_any $_tests || return 0
	load_ours kvmmu.load kvmmu.ko || return 0
	if want kvmmu.memslot_test; then
		run_bin kvmmu.memslot_test "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" memslot_test || true
	fi
	if want kvmmu.guest; then
		run_bin kvmmu.guest "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu" control_guest || true
	fi
	if want kvmmu.string_io; then
		run_bin kvmmu.string_io "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu" string_io_test || true
	fi
	if want kvmmu.hardening; then
		run_bin kvmmu.hardening "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" hardening_test || true
	fi
	if want kvmmu.vcpu_state; then
		run_bin kvmmu.vcpu_state "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" vcpu_state_test || true
	fi
	if want kvmmu.msr; then
		run_bin kvmmu.msr "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" msr_test || true
	fi
	if want kvmmu.events; then
		run_bin kvmmu.events "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" events_test || true
	fi
	if want kvmmu.hostmem; then
		run_bin kvmmu.hostmem "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu $HOSTMEM_REQ" hostmem_test || true
	fi
	if want kvmmu.guest_test; then
		run_bin kvmmu.guest_test "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" guest_test || true
	fi
	if want kvmmu.race; then
		run_bin kvmmu.race "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" race_test || true
	fi
	# Fault injection: the debug kernel has failslab and fail_page_alloc.
	if [ "$PLAN_FAILNTH" = 1 ] && want kvmmu.failnth; then
		run_bin kvmmu.failnth "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" failnth_test || true
	fi
	if want kvmmu.fuzz; then
		# Fixed seeds: the short pass of make check; make fuzz sets more.
		# The differential pass needs control.fuzz's record of the same
		# seeds, and a control that is the KVM kvmmu follows (6.12):
		# stock 6.1's ABI differs (no KVM_SET_USER_MEMORY_REGION2, ...).
		# On by default; FUZZ_DIFF=0 leaves it out (reported as skipped).
		_cmp=
		_why=
		if [ "$FUZZ_DIFF" != 1 ]; then
			_why="FUZZ_DIFF=$FUZZ_DIFF: the differential pass was turned off"
		elif [ "$KERNEL" != stock612 ]; then
			_why="the control is not KVM 6.12 here"
		elif [ ! -e "/tmp/fuzz.kvm.$(echo "$FUZZ_SEEDS" | awk '{ print $1 }')" ]; then
			_why="no record of control.fuzz (not run)"
		else
			_cmp="-c /tmp/fuzz.kvm"
		fi
		# shellcheck disable=SC2046,SC2086
		run_bin kvmmu.fuzz "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu" ioctl_fuzz \
			$(fuzz_args) $_cmp || true
		[ -z "$_why" ] || check kvmmu.fuzz SKIP differential "$_why"
	fi
	if [ "$PLAN_KUNIT" = 1 ] && want kvmmu.kunit; then
		if load_ours kvmmu.kunit kvmmu_test.ko; then
			collect_kunit kvmmu.kunit
			say "end kvmmu.kunit rc=0"
			unload_ours kvmmu.unload kvmmu_test || true
		fi
	fi
	unload_ours kvmmu.unload kvmmu || true
}

# The shadow MMU (issue 18): shadow_test against stock kvm_amd npt=0 (the
# control) and against kvmmu tdp=0 (it checks /sys/module that the MMU
# really is the shadow one); and the guests of control_guest (real mode),
# string_io_test and events_test (flat 32-bit, paging off), which run on
# the shadow MMU's paging-off roots there, and vcpu_state_test (the vCPU
# state ioctls, KVM_TRANSLATE over 64-bit tables) with tdp=0 / npt=0.
SHADOW_OTHERS="guest:control_guest string_io:string_io_test events:events_test vcpu_state:vcpu_state_test"
group_shadow() {
	_sh_c=control.shadow _sh_k=kvmmu.shadow
	for _sp in $SHADOW_OTHERS; do
		_sh_c="$_sh_c control.shadow_${_sp%%:*}"
		_sh_k="$_sh_k kvmmu.shadow_${_sp%%:*}"
	done
	# shellcheck disable=SC2086
	if want_any $_sh_c; then
		mark control.shadow
		if load_stock control.shadow_load kvm_amd npt=0; then
			if want control.shadow; then
				run_bin control.shadow "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" shadow_test || true
			fi
			for _sp in $SHADOW_OTHERS; do
				want "control.shadow_${_sp%%:*}" || continue
				run_bin "control.shadow_${_sp%%:*}" "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1" "${_sp#*:}" || true
			done
		else
			check control.shadow FAIL load "stock kvm stack (npt=0) did not load"
		fi
		unload_stock control.shadow_unload || true
	fi
	# shellcheck disable=SC2086
	want_any $_sh_k || return 0
	load_ours kvmmu.shadow_load kvmmu.ko tdp=0 || return 0
	if want kvmmu.shadow; then
		run_bin kvmmu.shadow "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" shadow_test || true
	fi
	for _sp in $SHADOW_OTHERS; do
		want "kvmmu.shadow_${_sp%%:*}" || continue
		run_bin "kvmmu.shadow_${_sp%%:*}" "$TIMEOUT" "KVMMU_DEV=/dev/kvmmu KVMMU_MODULE=kvmmu" "${_sp#*:}" || true
	done
	unload_ours kvmmu.shadow_unload kvmmu || true
}

# The upstream list under the shadow MMU (issue 18): against kvmmu's kvm.ko
# loaded with tdp=0 (kvm.upstream_tdp0.<name>) and against stock kvm_amd
# npt=0 (control.upstream_npt0.<name>, the control). The load step checks
# /sys/module that the MMU under test really is the shadow one.
# upstream_shadow_plan control|kvm: the names this kernel runs on that side.
# On stock612 and on the debug kernel (~1050 s of its VM; the control there
# only what the stock kernels cannot run, as control.upstream);
# UPSTREAM_TDP0_DEBUG=0 leaves the debug kernel's out. Not on stock61, for
# CI's 75 minutes: shadow_test and a QEMU boot run on the shadow MMU there.
upstream_shadow_plan() {
	if [ "$KERNEL" = stock61 ] ||
		{ [ "$KERNEL" = debug ] && [ "$UPSTREAM_TDP0_DEBUG" = 0 ]; }; then
		return 0
	elif [ "$1" = kvm ]; then
		upstream_names kvm.upstream_tdp0
	elif [ "$KERNEL" = debug ]; then
		# as control.upstream: only what the stock kernels cannot run
		upstream_lines | awk -v bins=" $UPSTREAM_DEBUG_CONTROL " \
			'index(bins, " " $2 " ") { printf "control.upstream_npt0.%s ", $1 }'
	else
		upstream_names control.upstream_npt0
	fi
}
# shadow_param <test> <file> <want>: does the module parameter read <want>?
shadow_param() {
	_v=$(cat "$2" 2>/dev/null || echo missing)
	if [ "$_v" = "$3" ]; then
		check "$1" ok mmu-mode
	else
		check "$1" FAIL mmu-mode "$2 reads '$_v', want '$3'"
		return 1
	fi
}
group_upstream_shadow() {
	# shellcheck disable=SC2046
	if want_any $(upstream_shadow_plan control); then
		mark control.upstream_npt0_load
		if load_stock control.upstream_npt0_load kvm_amd npt=0 &&
			shadow_param control.upstream_npt0_load /sys/module/kvm_amd/parameters/npt N; then
			if [ "$KERNEL" = debug ]; then
				run_upstream control.upstream_npt0 "KVMMU_STOCK=1" $UPSTREAM_DEBUG_CONTROL
			else
				run_upstream control.upstream_npt0 "KVMMU_STOCK=1"
			fi
		fi
		mark control.upstream_npt0_unload
		unload_stock control.upstream_npt0_unload || true
	fi
	# shellcheck disable=SC2046
	want_any $(upstream_shadow_plan kvm) || return 0
	load_ours kvm.upstream_tdp0_load kvm.ko tdp=0 || return 0
	if shadow_param kvm.upstream_tdp0_load /sys/module/kvm/parameters/tdp N; then
		run_upstream kvm.upstream_tdp0 ""
	fi
	unload_ours kvm.upstream_tdp0_unload kvm || true
}

group_kvm() {
	# shellcheck disable=SC2046
	want_any kvm.dev kvm.memslot_test $(upstream_names kvm.upstream) || return 0
	load_ours kvm.load kvm.ko || return 0
	if want kvm.dev; then
		mark kvm.dev
		if [ -c /dev/kvm ]; then
			check kvm.dev ok dev-kvm
		else
			check kvm.dev FAIL dev-kvm "/dev/kvm missing"
		fi
		_p=$(cat /sys/module/kvm/parameters/force_emulation_prefix 2>/dev/null || echo missing)
		if [ "$_p" = 0 ]; then
			check kvm.dev ok force_emulation_prefix
		else
			check kvm.dev FAIL force_emulation_prefix "reads '$_p', want 0"
		fi
	fi
	if want kvm.memslot_test; then
		run_bin kvm.memslot_test "$TIMEOUT" "KVMMU_DEV=/dev/kvm KVMMU_MODULE=kvm" memslot_test || true
	fi
	run_upstream kvm.upstream ""
	unload_ours kvm.unload kvm || true
}

# ---- QEMU inside the test VM (issue 17) ------------------------------------
# Debian's qemu-system-x86_64 (initramfs.sh copied it, its libraries and
# ROMs to /qemu) boots the L2 guest of l2-init.sh: stock 6.12 kernel,
# busybox, writes and checksums 256 MiB, 300 fork+exec, a marker line,
# poweroff. Stock kvm_amd is the control: with kernel_irqchip=off (QEMU's
# own PIC/IOAPIC/LAPIC/PIT, the path kvmmu takes: it has no
# KVM_CAP_IRQCHIP; -cpu host,kvm=off, else QEMU 7.2 aborts on
# MSR_KVM_POLL_CONTROL) and with its in-kernel irqchip. Live migration:
# two QEMUs, QMP over a pipe chardev (no QMP client in busybox), tcp on
# loopback (unix socket where the kernel has no INET: debug).
QEMU="/qemu/lib/ld-linux-x86-64.so.2 --library-path /qemu/lib /qemu/bin/qemu-system-x86_64 -L /qemu/share"
QEMU_OFF="kvm,kernel-irqchip=off"
QEMU_GATE="left out with QEMU_KVMMU=0"

# qemu_tests control|kvmmu: this kernel's qemu tests of that side. The
# debug kernel (KASAN, lockdep: every boot is slower) runs one boot and the
# live migration.
qemu_tests() {
	# CI's 75-minute budget: stock612 runs both whole sets, the other
	# kernels one boot each side; on the debug kernel kvmmu's boot is its
	# live migration's (KASAN and lockdep; 174 s, the control's 276 s).
	# The *_tdp0 tests reload kvm.ko with tdp=0 (the shadow MMU, issue
	# 18); QEMU_TDP=0 puts every other kvmmu.qemu_* test there too.
	if [ "$KERNEL" != stock612 ] && [ "$1" = control ]; then
		echo control.qemu_boot_pc_irqchip_off
	elif [ "$KERNEL" = debug ]; then
		echo kvmmu.qemu_migrate
	elif [ "$KERNEL" != stock612 ]; then
		echo kvmmu.qemu_boot_pc kvmmu.qemu_boot_pc_tdp0
	elif [ "$1" = control ]; then
		# kvm_amd's in-kernel irqchip: not kvmmu's path, and it hangs
		# on TCG (Documentation/testing.rst): only on request.
		echo control.qemu_boot_pc_irqchip_off control.qemu_boot_q35_irqchip_off \
			control.qemu_migrate control.qemu_migrate_file
		if [ "$QEMU_KIRQ" = 1 ]; then echo control.qemu_boot_pc; fi
	else
		echo kvmmu.qemu_boot_pc kvmmu.qemu_boot_q35 kvmmu.qemu_migrate \
			kvmmu.qemu_migrate_file kvmmu.qemu_pagemap \
			kvmmu.qemu_boot_pc_tdp0 kvmmu.qemu_migrate_tdp0
	fi
}

# qemu_bg <out> <accel> <cpu> <machine> <l2mode> <serial> [qemu args]: start
# QEMU with the L2 guest in the background (QEMU_PID: its timeout), bounded
# by $TIMEOUT. no_timer_check: the L2 kernel's IO-APIC timer check counts
# PIT ticks in a 10-tick window, which two layers of TCG on a loaded host
# can miss: it panicked once ("IO-APIC + timer doesn't work") on kvmmu
# tdp=0 with the bench VM beside it, and booted on the rerun. The L2's
# workload (forks, checksums) still needs its timer interrupts.
qemu_bg() {
	_o=$1 _a=$2 _c=$3 _m=$4 _l=$5 _s=$6
	shift 6
	: >"$_s"
	# shellcheck disable=SC2086
	timeout -s KILL "$TIMEOUT" $QEMU -accel "$_a" -cpu "$_c" -machine "$_m" \
		-m 640 -smp 1 -nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$_s" -kernel /qemu/guest/vmlinuz -initrd /qemu/guest/initrd.gz \
		-append "console=ttyS0 quiet panic=-1 no_timer_check l2mode=$_l" \
		"$@" </dev/null >"$_o" 2>&1 &
	QEMU_PID=$!
}

# l2_judge <test> <serial> <qemu output>: the L2 guest's verdict, from its
# console: the marker, every checksum, the fork loop.
l2_judge() {
	grep '^l2: \|KVMMU-L2-DONE' "$2" | tr -d '\r' | sed 's/^/# /' >&3
	if grep -q '^KVMMU-L2-DONE ok' "$2"; then
		check "$1" ok marker
	else
		# The first report's head (what faulted, where), then the end.
		grep -m1 -A30 'BUG:\|Oops\|general protection\|WARNING:' "$2" | tr -d '\r' | sed 's/^/# console: /' >&3
		tail -n 40 "$2" | tr -d '\r' | sed 's/^/# console: /' >&3
		tail -n 5 "$3" | sed 's/^/# qemu: /' >&3
		check "$1" FAIL marker "no 'KVMMU-L2-DONE ok' on the L2 console: $(tr -d '\r' <"$3" | grep -v '^$' | tail -n 1)"
	fi
	_bad=$(grep -m1 '^l2: checksum .* FAIL' "$2" | tr -d '\r')
	if [ -n "$_bad" ]; then
		check "$1" FAIL checksum "$_bad"
	elif grep -q '^l2: checksum .* ok' "$2"; then
		check "$1" ok checksum
	else
		check "$1" FAIL checksum "no checksum line on the L2 console"
	fi
	if grep -q '^l2: forks .* ok' "$2"; then
		check "$1" ok forks
	else
		check "$1" FAIL forks "$(grep -m1 '^l2: forks' "$2" | tr -d '\r')"
	fi
}

# qemu_probe <seconds>: debugging aid (QEMU_PROBE=<seconds>): if the L2
# guest still runs after that long, show where its vCPU is, three times.
qemu_probe() {
	qmp src '{"execute":"qmp_capabilities"}'
	_n=0
	while [ "$_n" -lt "$1" ] && alive "$QEMU_PID"; do
		sleep 1
		_n=$((_n + 1))
	done
	alive "$QEMU_PID" || return 0
	for _i in 1 2 3; do
		for _c in "info registers" "x/6i \$pc" "info lapic" "info pic" "info irq"; do
			qmp src "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"$_c\"}}"
		done
		sleep 2
	done
	sed 's/\\r\\n/\n/g' /tmp/src.log | sed 's/^/# probe: /' >&3
	kill -KILL "$QEMU_PID"
}

# qemu_boot <test> <accel> <cpu> <machine>: one boot of the L2 guest
qemu_boot() {
	mark "$1"
	say "env qemu -accel $2 -cpu $3 -machine $4"
	_t0=$(date +%s)
	if [ "${QEMU_PROBE:-0}" -gt 0 ]; then
		QMP_PIDS=
		qmp_open src
		# shellcheck disable=SC2046
		qemu_bg /tmp/qemu.out "$2" "$3" "$4" boot /tmp/l2.serial $(qmp_args src)
		qemu_probe "$QEMU_PROBE"
		# shellcheck disable=SC2086
		kill $QMP_PIDS 2>/dev/null
		exec 5>&-
	else
		qemu_bg /tmp/qemu.out "$2" "$3" "$4" boot /tmp/l2.serial
	fi
	wait "$QEMU_PID"
	_rc=$?
	echo "# qemu exit status $_rc after $(($(date +%s) - _t0)) s" >&3
	l2_judge "$1" /tmp/l2.serial /tmp/qemu.out
	say "end $1 rc=$_rc"
}

# QMP over a pipe chardev: QEMU opens <p>.in and <p>.out O_RDWR, so the
# shell writes a command with echo and a background cat collects replies.
# The shell holds <p>.in open too (fd 5: src, 6: dst), so that a write
# never blocks when QEMU is gone: the command is lost, the poll times out.
qmp_open() { # qmp_open <name>: FIFOs /tmp/<name>.in/.out, replies in /tmp/<name>.log
	rm -f "/tmp/$1.in" "/tmp/$1.out"
	mkfifo "/tmp/$1.in" "/tmp/$1.out"
	: >"/tmp/$1.log"
	if [ "$1" = src ]; then exec 5<>/tmp/src.in; else exec 6<>/tmp/dst.in; fi
	cat "/tmp/$1.out" >>"/tmp/$1.log" &
	QMP_PIDS="$QMP_PIDS $!"
}
qmp_args() { # qmp_args <name>: QEMU's arguments for that monitor
	echo "-chardev pipe,id=qmp,path=/tmp/$1 -mon chardev=qmp,mode=control"
}
qmp() { # qmp <name> <json>
	if [ "$1" = src ]; then echo "$2" >&5; else echo "$2" >&6; fi
}
# alive <pid>: the process runs (a zombie, not yet waited for, does not)
alive() {
	[ -e "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
# wait_for <file> <regexp> <seconds> [<pid>]: poll until the file has a
# match; give up early when <pid> has exited
wait_for() {
	echo "# waiting for $2 in $1" >&3
	_n=0
	while [ "$_n" -lt "$3" ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		[ -n "${4:-}" ] && ! alive "$4" && return 1
		sleep 1
		_n=$((_n + 1))
	done
	return 1
}
# qmp_migrated <name> <seconds>: poll query-migrate until completed (0) or
# failed/timeout (1)
qmp_migrated() {
	_n=0
	while [ "$_n" -lt "$2" ]; do
		qmp "$1" '{"execute":"query-migrate"}'
		sleep 2
		grep -q '"status": "completed"' "/tmp/$1.log" && return 0
		grep -q '"status": "failed"' "/tmp/$1.log" && return 1
		_n=$((_n + 2))
	done
	return 1
}

# qemu_migrate <test> <accel> <cpu> live|file: the L2 guest in l2mode=migrate
# on a source QEMU; once its first round of data is written and checked,
# it moves to a destination QEMU (live: while it writes; file: paused, saved
# to a file, restored). The destination must finish the work with every
# checksum right, the source must not have finished it.
qemu_migrate() {
	_t=$1 _a=$2 _c=$3 _how=$4
	mark "$_t"
	QMP_PIDS=
	_t0=$(date +%s)
	if [ "$_how" = file ]; then
		_uri="exec:cat >/tmp/vm.state"
		_in="exec:cat /tmp/vm.state"
	elif [ "$HAVE_INET" = 1 ]; then
		ip link set lo up
		_uri=tcp:127.0.0.1:4444
		_in=$_uri
	else
		_uri=unix:/tmp/migrate.sock
		_in=$_uri
	fi
	say "env qemu -accel $_a -cpu $_c -machine pc, migrate to $_uri"
	rm -f /tmp/vm.state /tmp/migrate.sock
	qmp_open src
	# shellcheck disable=SC2046
	qemu_bg /tmp/src.qemu "$_a" "$_c" pc migrate /tmp/src.serial $(qmp_args src)
	_src=$QEMU_PID _dst=
	if [ "$_how" = live ]; then
		# shellcheck disable=SC2046
		qemu_bg /tmp/dst.qemu "$_a" "$_c" pc migrate /tmp/dst.serial -incoming "$_in"
		_dst=$QEMU_PID
	fi
	_mig=0
	if ! wait_for /tmp/src.log '"QMP"' 60 "$_src"; then
		check "$_t" FAIL qmp "no QMP greeting from the source: $(tail -n 1 /tmp/src.qemu)"
	elif ! wait_for /tmp/src.serial '^l2: round 1 done' "$TIMEOUT" "$_src"; then
		check "$_t" FAIL round1 "the guest did not finish its first round on the source"
	else
		qmp src '{"execute":"qmp_capabilities"}'
		# the default 128 MiB/s and 300 ms downtime: kept; TCG is slower
		[ "$_how" = file ] && qmp src '{"execute":"stop"}'
		qmp src "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"$_uri\"}}"
		if qmp_migrated src 300; then
			_mig=1
			check "$_t" ok migrate
			echo "# migrated after $(($(date +%s) - _t0)) s$([ "$_how" = file ] && echo ", $(wc -c </tmp/vm.state) bytes saved")" >&3
		else
			grep -m2 'status\|error' /tmp/src.log | sed 's/^/# qmp: /' >&3
			check "$_t" FAIL migrate "query-migrate: $(grep -o '"status": "[a-z-]*"' /tmp/src.log | tail -n 1)"
		fi
		qmp src '{"execute":"quit"}'
	fi
	echo "# waiting for the source QEMU to exit" >&3
	wait "$_src"
	_srcrc=$?
	[ "$_srcrc" = 0 ] || echo "# source: exit status $_srcrc: $(tail -n 2 /tmp/src.qemu)" >&3
	if grep -q 'KVMMU-L2-DONE' /tmp/src.serial; then
		check "$_t" FAIL mid-work "the guest finished on the source: migration came too late"
	fi
	if [ "$_how" = file ] && [ $_mig = 1 ]; then
		# A guest saved paused is restored paused: cont it, as a
		# user's restore does, once the state is loaded.
		qmp_open dst
		# shellcheck disable=SC2046
		qemu_bg /tmp/dst.qemu "$_a" "$_c" pc migrate /tmp/dst.serial -incoming "$_in" $(qmp_args dst)
		_dst=$QEMU_PID
		if wait_for /tmp/dst.log '"QMP"' 60 "$_dst"; then
			qmp dst '{"execute":"qmp_capabilities"}'
			if qmp_migrated dst 300; then
				qmp dst '{"execute":"cont"}'
				check "$_t" ok restore
			else
				check "$_t" FAIL restore "query-migrate on the destination: $(grep -o '"status": "[a-z-]*"' /tmp/dst.log | tail -n 1)"
				kill "$_dst" 2>/dev/null
			fi
		else
			check "$_t" FAIL restore "no QMP greeting from the destination: $(tail -n 1 /tmp/dst.qemu)"
			kill "$_dst" 2>/dev/null
		fi
	fi
	_rc=1
	if [ -n "$_dst" ]; then
		[ $_mig = 1 ] || kill "$_dst" 2>/dev/null
		echo "# waiting for the destination QEMU to exit" >&3
		wait "$_dst"
		_rc=$?
	fi
	if [ $_mig = 1 ]; then
		echo "# destination: exit status $_rc after $(($(date +%s) - _t0)) s" >&3
		if grep -q '^l2: round [0-9]* done' /tmp/dst.serial; then
			check "$_t" ok mid-work
		else
			check "$_t" FAIL mid-work "no round of work finished on the destination"
		fi
		l2_judge "$_t" /tmp/dst.serial /tmp/dst.qemu
	fi
	# shellcheck disable=SC2086
	kill $QMP_PIDS 2>/dev/null
	exec 5>&- 6>&-
	say "end $_t rc=$_rc"
}

# qemu_pagemap <test>: issue 17's "is there a pagemap for GPAs?", for a
# real VM. QEMU boots the L2 guest in l2mode=pagemap on kvmmu; once the
# guest holds 4 MiB of its data in a process and has said at which GPAs
# (its own /proc/<pid>/pagemap) and where its kernel is (/proc/iomem), QEMU
# is paused over QMP and /tests/gpa-pagemap shows GPA -> HVA -> HPA for the
# first MiB, the guest kernel and the held data. Cases: vmfd (a process
# holds a kvmmu VM fd, anon_inode:kvmmu-vm, and its debugfs directory is
# there), lowmem, kernel, data (gpa-pagemap exits 0 and prints no '!'; a
# page is mapped, NPT pfn == host pfn; for the data every page), content
# (the data's first GPA run, read at its HVA in QEMU's memory, holds the
# guest's data), then the L2 cases once the guest is let go on. `make
# run-qemu` (MODE=qemu-demo) runs the same and prints it.
PAGEMAP_SHOW=6
# pagemap_range <test> <case> <pid> <vmfd> <gpa> <pages> some|all
pagemap_range() {
	_pt=$1 _pc=$2 _pall=$7
	echo "# $_pc: gpa-pagemap $3 $4 $5 $6" >&3
	/tests/gpa-pagemap "$3" "$4" "$5" "$6" >"/tmp/pm.$_pc" 2>/tmp/pm.err
	_prc=$?
	head -n $((PAGEMAP_SHOW + 1)) "/tmp/pm.$_pc" | sed 's/^/# /' >&3
	# shellcheck disable=SC2046
	set -- $(awk 'NR > 1 { n[$NF]++ } END { print n["="] + 0, n["!"] + 0, n["."] + 0, NR - 1 }' "/tmp/pm.$_pc")
	echo "# $_pc: $4 of the pages listed: $1 '=' (NPT pfn == host pfn at the HVA), $2 '!', $3 '.'" >&3
	if [ "$_prc" != 0 ]; then
		check "$_pt" FAIL "$_pc" "gpa-pagemap exited $_prc: $(head -n 1 /tmp/pm.err)"
	elif [ "$2" != 0 ]; then
		check "$_pt" FAIL "$_pc" "$2 pages whose NPT pfn is not the host's: $(awk '$NF == "!"' "/tmp/pm.$_pc" | head -n 1)"
	elif [ "$1" = 0 ]; then
		check "$_pt" FAIL "$_pc" "no page of the range is mapped"
	elif [ "$_pall" = all ] && [ "$1" != "$4" ]; then
		check "$_pt" FAIL "$_pc" "only $1 of $4 pages mapped: $(awk '$NF != "="' "/tmp/pm.$_pc" | sed -n 2p)"
	else
		check "$_pt" ok "$_pc"
	fi
}
# pagemap_look <test>: QEMU is paused; find its VM and look
pagemap_look() {
	_vm=
	for _f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$_f" 2>/dev/null)" = anon_inode:kvmmu-vm ] || continue
		_vm=$_f
		break
	done
	_pid=${_vm#/proc/} _pid=${_pid%%/*} _fd=${_vm##*/}
	_dir=/sys/kernel/debug/kvmmu/$_pid-$_fd
	if [ -z "$_vm" ]; then
		check "$1" FAIL vmfd "no process holds an anon_inode:kvmmu-vm fd"
		return
	elif [ ! -d "$_dir" ]; then
		check "$1" FAIL vmfd "QEMU (pid $_pid) has its VM as fd $_fd but there is no $_dir"
		return
	fi
	check "$1" ok vmfd
	echo "# QEMU: pid $_pid, VM fd $_fd ($(readlink "$_vm")); $_dir/memslots:" >&3
	sed 's/^/#   /' "$_dir/memslots" >&3
	pagemap_range "$1" lowmem "$_pid" "$_fd" 0 256 some
	_k=$(sed -n 's/^l2: kernel gpa \(0x[0-9a-f]*\)-.*/\1/p' /tmp/pm.serial | tr -d '\r' | head -n 1)
	pagemap_range "$1" kernel "$_pid" "$_fd" "${_k:-0x1000000}" 512 some
	# shellcheck disable=SC2046
	set -- "$1" $(sed -n 's/^l2: data gpa \(0x[0-9a-f]*\) pages \([0-9]*\).*/\1 \2/p' /tmp/pm.serial | tr -d '\r' | head -n 1)
	if [ -z "${2:-}" ]; then
		check "$1" FAIL data "no 'l2: data gpa' line on the L2 console"
		return
	fi
	[ "$3" -gt 1024 ] && set -- "$1" "$2" 1024
	pagemap_range "$1" data "$_pid" "$_fd" "$2" "$3" all
	# the guest's GPA, through kvmmu's memslot, to QEMU's own memory
	_hva=$(awk 'NR == 2 { print $3 }' /tmp/pm.data)
	case "$_hva" in 0x*) ;; *) _hva=0 ;; esac
	_heads=$(dd if="/proc/$_pid/mem" bs=4096 skip=$((_hva / 4096)) count="$3" 2>/dev/null |
		tr -d '\000' | grep -o 'r1 chunk [0-9]*$' | tr '\n' ' ')
	if [ -n "$_heads" ]; then
		echo "# data: QEMU's memory at HVA $_hva on holds: $_heads" >&3
		check "$1" ok content
	else
		check "$1" FAIL content "no 'r1 chunk' line in QEMU's memory at HVA $_hva (GPA $2)"
	fi
}
qemu_pagemap() {
	_t=$1
	mark "$_t"
	say "env qemu -accel $QEMU_OFF -cpu host,kvm=off -machine pc, l2mode=pagemap"
	QMP_PIDS=
	qmp_open src
	# shellcheck disable=SC2046
	qemu_bg /tmp/pm.qemu "$QEMU_OFF" host,kvm=off pc pagemap /tmp/pm.serial $(qmp_args src)
	_q=$QEMU_PID
	if ! wait_for /tmp/src.log '"QMP"' 60 "$_q"; then
		check "$_t" FAIL qmp "no QMP greeting: $(tail -n 1 /tmp/pm.qemu)"
	elif ! wait_for /tmp/pm.serial '^l2: data held' "$TIMEOUT" "$_q"; then
		check "$_t" FAIL held "the guest did not say where its data is"
	else
		qmp src '{"execute":"qmp_capabilities"}'
		qmp src '{"execute":"stop"}'
		wait_for /tmp/src.log '"STOP"' 30 "$_q" || echo "# no STOP event: the guest runs on" >&3
		pagemap_look "$_t"
		qmp src '{"execute":"cont"}'
	fi
	wait "$_q"
	_rc=$?
	echo "# qemu exit status $_rc" >&3
	l2_judge "$_t" /tmp/pm.serial /tmp/pm.qemu
	# shellcheck disable=SC2086
	kill $QMP_PIDS 2>/dev/null
	exec 5>&-
	say "end $_t rc=$_rc"
}

# qemu_run_tests control|kvmmu [tdp0]: that side's selected tests; with
# tdp0 only its *_tdp0 tests, without only the others
qemu_run_tests() {
	for _r in $(seq "$QEMU_REPEAT"); do
		for _q in $(qemu_tests "$1"); do
			want "$_q" || continue
			case "$_q" in
			*_tdp0) [ "${2:-}" = tdp0 ] || continue ;;
			*) [ "${2:-}" != tdp0 ] || continue ;;
			esac
			[ "$_r" = 1 ] || echo "# repeat $_r of $QEMU_REPEAT" >&3
			case "$_q" in
			*.qemu_boot_pc_irqchip_off | kvmmu.qemu_boot_pc | kvmmu.qemu_boot_pc_tdp0) qemu_boot "$_q" "$QEMU_OFF" host,kvm=off pc ;;
			*.qemu_boot_q35_irqchip_off | kvmmu.qemu_boot_q35) qemu_boot "$_q" "$QEMU_OFF" host,kvm=off q35 ;;
			control.qemu_boot_pc) qemu_boot "$_q" kvm host,kvm=off pc ;;
			*.qemu_migrate | kvmmu.qemu_migrate_tdp0) qemu_migrate "$_q" "$QEMU_OFF" host,kvm=off live ;;
			*.qemu_migrate_file) qemu_migrate "$_q" "$QEMU_OFF" host,kvm=off file ;;
			kvmmu.qemu_pagemap) qemu_pagemap "$_q" ;;
			esac
		done
	done
}

# qemu_missing <side>: FAIL that side's selected tests when QEMU is not in
# the initramfs (initramfs.sh copies it when the plan has them)
qemu_missing() {
	[ "$HAVE_QEMU" = 1 ] && [ -x /qemu/bin/qemu-system-x86_64 ] && return 1
	for _q in $(qemu_tests "$1"); do
		want "$_q" || continue
		mark "$_q"
		check "$_q" FAIL precondition "QEMU is not in the initramfs (/qemu)"
	done
	return 0
}

group_qemu() {
	# shellcheck disable=SC2046
	if want_any $(qemu_tests control) && ! qemu_missing control; then
		mark control.qemu_load
		if load_stock control.qemu_load; then
			qemu_run_tests control
		fi
		mark control.qemu_unload
		unload_stock control.qemu_unload || true
	fi
	# shellcheck disable=SC2046
	want_any $(qemu_tests kvmmu) || return 0
	if [ "$QEMU_KVMMU" != 1 ]; then
		for _q in $(qemu_tests kvmmu); do
			want "$_q" || continue
			mark "$_q"
			check "$_q" SKIP run "$QEMU_GATE"
		done
		return 0
	fi
	qemu_missing kvmmu && return 0
	# kvmmu as kvm.ko on /dev/kvm, the only device QEMU opens
	_qt=
	for _q in $(qemu_tests kvmmu); do
		case "$_q" in *_tdp0) ;; *) want "$_q" && _qt=1 ;; esac
	done
	if [ -n "$_qt" ]; then
		if [ "$QEMU_TDP" = 0 ]; then
			load_ours kvm.qemu_load kvm.ko tdp=0 && qemu_run_tests kvmmu
		else
			load_ours kvm.qemu_load kvm.ko && qemu_run_tests kvmmu
		fi
		unload_ours kvm.qemu_unload kvm || true
	fi
	# the *_tdp0 tests: kvm.ko again, on the shadow MMU
	_qt=
	for _q in $(qemu_tests kvmmu); do
		case "$_q" in *_tdp0) want "$_q" && _qt=1 ;; esac
	done
	[ -n "$_qt" ] || return 0
	if load_ours kvm.qemu_tdp0_load kvm.ko tdp=0 &&
		shadow_param kvm.qemu_tdp0_load /sys/module/kvm/parameters/tdp N; then
		qemu_run_tests kvmmu tdp0
	fi
	unload_ours kvm.qemu_tdp0_unload kvm || true
}

kmemleak_clear() {
	[ -e /sys/kernel/debug/kmemleak ] || return 0
	# forget what the boot leaked, so that reports belong to our run
	echo scan >/sys/kernel/debug/kmemleak 2>/dev/null || true
	echo clear >/sys/kernel/debug/kmemleak 2>/dev/null || true
}

group_kmemleak() {
	[ "$PLAN_KMEMLEAK" = 1 ] || return 0
	want kmemleak || return 0
	mark kmemleak
	# kmemleak only reports objects older than 5 s and needs two scans to
	# see an object unreferenced twice
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	_leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -z "$_leaks" ]; then
		check kmemleak ok scan
	else
		echo "$_leaks" | sed 's/^/# /' >&3
		check kmemleak FAIL scan "kmemleak reported leaks (above)"
	fi
}

# Harness self-test plan: each of these must make the verdict go red.
group_selftest() {
	if want selftest.kunit_warn && [ -d /sys/kernel/debug/kunit ]; then
		# kvmmu_test.ko built with -DKVMMU_TEST_BROKEN_WARN: a case WARNs
		load_ours kvmmu.load kvmmu.ko || true
		mark selftest.kunit_warn
		insmod /kvmmu/kvmmu_test.ko || true
		collect_kunit selftest.kunit_warn
		say "end selftest.kunit_warn rc=0"
		rmmod kvmmu_test 2>/dev/null || true
		rmmod kvmmu 2>/dev/null || true
	fi
	if want selftest.fail; then
		run_bin selftest.fail "$TIMEOUT" "" harness_broken fail || true
	fi
	if want selftest.hang; then
		# short timeout: the point is that the hang is caught and named
		run_bin selftest.hang 20 "" harness_broken hang || true
	fi
	if want selftest.todo; then
		run_bin selftest.todo "$TIMEOUT" "" harness_broken todo || true
	fi
	if want selftest.exit127; then
		run_bin selftest.exit127 "$TIMEOUT" "" harness_broken exit127 || true
	fi
	# The variants below exist only in selftest-harness.sh's /tests (and
	# harness_missing nowhere): a dynamically linked harness_broken (no loader here: exec fails, 127),
	# a script whose interpreter is not executable (126), a TAP script
	# whose cases pass but which exits non-zero.
	if want selftest.missing; then
		run_bin selftest.missing "$TIMEOUT" "" harness_missing || true
	fi
	if want selftest.dynamic; then
		run_bin selftest.dynamic "$TIMEOUT" "" harness_dynamic pass || true
	fi
	if want selftest.noexec; then
		run_bin selftest.noexec "$TIMEOUT" "" harness_noexec || true
	fi
	if want selftest.script; then
		run_bin selftest.script "$TIMEOUT" "" harness_script || true
	fi
}

# bench_parse <prefix>: copy an upstream selftest's output and add one
# "bench <prefix>_<metric> <seconds>" line per timing it prints.
bench_parse() {
	awk -v p="$1" '
	function secs(s) { sub(/s\.?$/, "", s); return s }
	function out(m, v) { printf("bench %s_%s %s\n", p, m, secs(v)) }
	{ print }
	/^Total guest execution time:/ { out("total_s", $NF) }
	/^Testing .* performance with/ {
		t = $0; sub(/^Testing /, "", t); sub(/ performance.*/, "", t)
		gsub(/ /, "_", t)
	}
	/^Best runtime result was/ { out(t "_s", $5) }
	/^Best slot setup time/ { out(t "_setup_s", $NF) }
	/^Populate memory time:/ { out("populate_s", $NF) }
	/^Enabling dirty logging time:/ { out("enable_s", $NF) }
	/^Iteration [0-9]+ dirty memory time:/ { out("dirty_it" $2 "_s", $NF) }
	/^Iteration [0-9]+ get dirty log time:/ { out("get_it" $2 "_s", $NF) }
	/^Iteration [0-9]+ clear dirty log time:/ { out("clear_it" $2 "_s", $NF) }
	/^Disabling dirty logging time:/ { out("disable_s", $NF) }
	/^KVM_[A-Z_]+: total execution time:/ {
		m = tolower($1); sub(/:$/, "", m); out(m "_s", $NF)
	}'
}

# bench_cmd <command...>: note the exact command in the output (bench.sh
# copies these lines into the metadata file), then run it.
bench_cmd() {
	echo "# cmd $*"
	"$@"
}

# bench_run <prefix> <command...>: run an upstream selftest with its output
# in a file, then bench_parse the file. Not a pipe: on one CPU the parser,
# woken by each line, runs whenever the scheduler lets it, and that can be
# inside the test's next timed section (performance.rst, "Nothing runnable
# but the test").
bench_run() {
	_p=$1
	shift
	echo "# cmd $*"
	"$@" >/tmp/bench.out
	bench_parse "$_p" </tmp/bench.out
}

# bench_workloads <label> <env>: one round of every workload of `make
# bench` against the device the environment names, as test bench.<label>.
# bench_both runs two rounds per contender, interleaved, so every value is
# measured at least twice. Each run is bounded by 900 s. memslot_perf_test
# stops at test 4 here: RW (5) runs in its own VM at a smaller icount shift
# (bench_rw). Each round ends with the QEMU rows (bench_qemu).
# BENCH_QUICK=1 (bench.sh) runs each workload once, shortened: a check
# that the rows come out, not a measurement.
# shellcheck disable=SC2086
bench_workloads() {
	mark "bench.$1"
	say "env $2"
	_b="timeout -s KILL 900 env $2"
	_l=5
	_pages=
	[ "$BENCH_QUICK" = 1 ] && _l=1 && _pages=1024
	{
		bench_cmd $_b /tests/memslot_bench
		bench_cmd $_b /tests/guest_bench $_pages
		bench_run demand_paging_4k $_b /tests/demand_paging_test -b 64M
		bench_run demand_paging_thp \
			$_b /tests/demand_paging_test -b 64M -s anonymous_thp
		# The 2M pool is filled by group_bench, before anything runs.
		echo "# nr_hugepages $(cat /proc/sys/vm/nr_hugepages) (want 48)"
		bench_run demand_paging_hugetlb \
			$_b /tests/demand_paging_test -b 64M -s anonymous_hugetlb
		# map and unmap take 1-3 s per iteration: one is enough. The
		# rest run the upstream default 5 s: their first iteration
		# frees what the setup's memset populated and weighs 1/22 of a
		# 1 s run (performance.rst).
		bench_run memslot_perf \
			$_b /tests/memslot_perf_test -s 64 -l 1 -f 0 -e 1
		bench_run memslot_perf \
			$_b /tests/memslot_perf_test -s 64 -l $_l -f 2 -e 4
		# The moves again with KVM_X86_QUIRK_SLOT_ZAP_ALL disabled:
		# kvm_amd then zaps only the moved slot, as kvmmu always does
		# (the like-for-like rows, memslot_perf_noquirk_*).
		bench_run memslot_perf_noquirk \
			$_b /tests/memslot_perf_test -q -s 64 -l $_l -f 3 -e 4
		# unmap chunked again with HRTICK: a slice then ends after
		# base_slice_ns (0.7 ms), not at the next 4 ms tick, so less
		# of an iteration is one thread spinning while the other
		# waits for the CPU (performance.rst, unmap chunked).
		_feat=/sys/kernel/debug/sched/features
		if echo HRTICK >$_feat; then
			bench_run memslot_perf_hrtick \
				$_b /tests/memslot_perf_test -s 64 -l $_l -f 2 -e 2
			echo NO_HRTICK >$_feat
		fi
		# Three times a round: enable and disable are single sub-ms
		# timings.
		for _i in 1 2 3; do
			bench_run dirty_log_g \
				$_b /tests/dirty_log_perf_test -b 32M -i 3 -g
			bench_run dirty_log_manual \
				$_b /tests/dirty_log_perf_test -b 32M -i 3
			[ "$BENCH_QUICK" = 1 ] && break
		done
		bench_run page_table $_b /tests/kvm_page_table_test -b 64M
		bench_qemu "$1"
	} >&3 2>&3 </dev/null
	say "end bench.$1 rc=0"
}

# bench_qemu_one <label> <prefix> <accel> [<timeout>]: one boot of the L2
# guest (l2-init.sh, l2mode=bench: 64 MiB written and checksummed, 300
# fork+exec) under Debian's QEMU, -machine pc, its serial console on
# QEMU's stdout, each line stamped with this VM's /proc/uptime as it
# arrives. Then one "bench <prefix>_<phase>_s <seconds>" line per phase,
# all on this VM's clock (icount): the same clock for both modules,
# whatever either does with the L2 guest's own clock. boot_to_init: QEMU
# started to the L2 /init's first line; write, md5, forks: from one L2
# line to the next; total: QEMU started to QEMU exited. A run that did
# not reach "KVMMU-L2-DONE ok" gives "failed" for every phase, which
# bench.sh shows as FAIL, and a FAIL check. Bounded by <timeout> s of this
# VM's time ($BENCH_QEMU_TIMEOUT by default: a hang costs that, not the
# VM's whole budget).
bench_qemu_one() {
	_bl=$1 _p=$2 _a=$3 _qt=${4:-$BENCH_QEMU_TIMEOUT}
	_args="-accel $_a -cpu host,kvm=off -machine pc -m 640 -smp 1 -nodefaults -no-user-config -display none -no-reboot -serial stdio -kernel /qemu/guest/vmlinuz -initrd /qemu/guest/initrd.gz"
	echo "# cmd $QEMU $_args -append 'console=ttyS0 quiet panic=-1 l2mode=bench'"
	read -r _t0 _ </proc/uptime
	# shellcheck disable=SC2086
	timeout -s KILL "$_qt" $QEMU $_args \
		-append "console=ttyS0 quiet panic=-1 l2mode=bench" </dev/null 2>/tmp/qemu.out |
		while IFS= read -r _ln; do
			read -r _u _ </proc/uptime
			echo "$_u $_ln"
		done >/tmp/l2.stamped
	read -r _t1 _ </proc/uptime
	tr -d '\r' </tmp/l2.stamped | grep ' l2: \| KVMMU-L2-DONE' | sed 's/^/# l2 at /'
	awk -v t0="$_t0" -v t1="$_t1" -v p="$_p" '
	function row(m, a, b) {
		if (done && a != "" && b != "") printf("bench %s_%s_s %.2f\n", p, m, b - a)
		else printf("bench %s_%s_s failed\n", p, m)
	}
	{ sub(/\r$/, "") }
	$2 == "l2:" && $3 == "init" && init == "" { init = $1 }
	$2 == "l2:" && $3 == "bench" && $6 == "written" { wr = $1 }
	$2 == "l2:" && $3 == "checksum" && $6 == "ok" { md = $1 }
	$2 == "l2:" && $3 == "forks" && $5 == "ok" { fk = $1 }
	$2 == "KVMMU-L2-DONE" && $3 == "ok" { done = 1 }
	END {
		row("boot_to_init", t0, init); row("write", init, wr)
		row("md5", wr, md); row("forks", md, fk); row("total", t0, t1)
	}' /tmp/l2.stamped
	if grep -q ' KVMMU-L2-DONE ok' /tmp/l2.stamped; then
		check "bench.$_bl" ok "$_p"
	else
		tail -n 10 /tmp/l2.stamped | tr -d '\r' | sed 's/^/# console: /'
		tail -n 5 /tmp/qemu.out | sed 's/^/# qemu: /'
		check "bench.$_bl" FAIL "$_p" "no 'KVMMU-L2-DONE ok' from the L2 guest after $(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf("%.0f", b - a) }') s: $(tail -n 1 /tmp/qemu.out)"
	fi
}

# bench_qemu <label>: the QEMU rows. Both modules run QEMU's own PIC,
# IOAPIC, LAPIC and PIT (kernel-irqchip=off, rows qemu_*: like for like,
# kvmmu has no in-kernel irqchip); kvm_amd runs again with its in-kernel
# irqchip (rows qemu_kirq_*, a reference; bench.sh sets kvmmu's qemu_*
# values beside them). -machine pc only: q35 does not run on kvmmu yet.
bench_qemu() {
	if [ "$HAVE_QEMU" != 1 ] || [ ! -x /qemu/bin/qemu-system-x86_64 ]; then
		check "bench.$1" FAIL qemu "QEMU is not in the initramfs (/qemu)"
		return 0
	fi
	bench_qemu_one "$1" qemu "$QEMU_OFF"
	case "$1" in
	kvm_amd.*) bench_qemu_one "$1" qemu_kirq kvm ;;
	esac
}

# bench_smp <label> <env>: fault-in scaling, 1 then 2 vCPUs with 64 MiB
# each (perfect scaling: the same total time).
# shellcheck disable=SC2086
bench_smp() {
	mark "bench.$1"
	say "env $2"
	_b="timeout -s KILL 900 env $2"
	{
		# Real time moves by 30% between runs: bench.sh shows the
		# faster run of each (two rounds per contender).
		bench_run smp_faultin_1vcpu \
			$_b /tests/demand_paging_test -b 64M -v 1
		bench_run smp_faultin_2vcpu \
			$_b /tests/demand_paging_test -b 64M -v 2
	} >&3 2>&3 </dev/null
	say "end bench.$1 rc=0"
}

# bench_rw <label> <env>: memslot_perf_test's RW (test 5) alone. Its guest
# first touches the whole 512 MiB test area (MEM_SIZE, compiled in), all
# inside one 10 s alarm() of host_perform_sync: 131072 faults of ~85 us take
# ~11 s of guest time at icount shift=3, so bench.sh runs this VM at shift=2
# (half the guest time per instruction).
# shellcheck disable=SC2086
bench_rw() {
	mark "bench.$1"
	say "env $2"
	_b="timeout -s KILL 900 env $2"
	{
		bench_run memslot_perf \
			$_b /tests/memslot_perf_test -s 64 -l 1 -f 5 -e 5
	} >&3 2>&3 </dev/null
	say "end bench.$1 rc=0"
}

# bench_shadow <label> <env>: one round of the shadow MMU's rows (the
# bench-shadow VM; bench_both loads kvm_amd npt=0 and our kvm.ko tdp=0).
# What of bench_workloads exercises the MMU a guest's page tables go
# through: guest_bench (its guest runs with paging off, on direct shadow
# pages in both modules), demand_paging_test (64-bit guest paging,
# upstream) with the three backings, and the QEMU L2 boot with its writes,
# md5 and fork/exec (kernel-irqchip=off only: the in-kernel irqchip is no
# MMU matter). Every row is the bench_workloads row with the prefix
# shadow_, so that bench.sh keeps them apart (own summaries).
# BENCH_SHADOW_QEMU_TIMEOUT bounds each L2 boot: a shadow MMU boot takes
# longer than an NPT one, and a hang should still not cost the whole VM.
# shellcheck disable=SC2086
bench_shadow() {
	mark "bench.$1"
	say "env $2"
	_b="timeout -s KILL 900 env $2"
	_pages=
	[ "$BENCH_QUICK" = 1 ] && _pages=1024
	{
		# The harness's own check that the module parameter took.
		echo "# module parameters: kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null || echo -), kvm tdp=$(cat /sys/module/kvm/parameters/tdp 2>/dev/null || echo -)"
		echo "# cmd $_b /tests/guest_bench $_pages"
		$_b /tests/guest_bench $_pages >/tmp/bench.out
		sed 's/^bench /bench shadow_/' /tmp/bench.out
		bench_run shadow_demand_paging_4k $_b /tests/demand_paging_test -b 64M
		bench_run shadow_demand_paging_thp \
			$_b /tests/demand_paging_test -b 64M -s anonymous_thp
		echo "# nr_hugepages $(cat /proc/sys/vm/nr_hugepages) (want 48)"
		bench_run shadow_demand_paging_hugetlb \
			$_b /tests/demand_paging_test -b 64M -s anonymous_hugetlb
		if [ "$HAVE_QEMU" != 1 ] || [ ! -x /qemu/bin/qemu-system-x86_64 ]; then
			check "bench.$1" FAIL shadow_qemu "QEMU is not in the initramfs (/qemu)"
		else
			bench_qemu_one "$1" shadow_qemu "$QEMU_OFF" "$BENCH_SHADOW_QEMU_TIMEOUT"
		fi
	} >&3 2>&3 </dev/null
	say "end bench.$1 rc=0"
}

# The rounds of bench_both: two, or one with BENCH_QUICK=1.
bench_rounds() {
	if [ "$BENCH_QUICK" = 1 ]; then echo 1; else echo 1 2; fi
}

# bench_both <fn> [<kvm_amd param> <kvm.ko param>]: <fn> against stock
# kvm_amd, then against our module loaded as kvm.ko, each on /dev/kvm;
# then both again (kvm_amd, kvmmu, kvm_amd, kvmmu), so that a drift of the
# VM over time (memory fragmentation, page cache) falls on both contenders
# alike. Test names bench.<contender>.r<round>. With the two parameters
# (npt=0 tdp=0: the bench-shadow VM) each module is loaded with its own.
bench_both() {
	for _r in $(bench_rounds); do
		mark control.load
		_ls=
		[ $# -ge 3 ] && _ls="control.load kvm_amd $2"
		# shellcheck disable=SC2086
		if load_stock $_ls; then
			"$1" "kvm_amd.r$_r" "KVMMU_DEV=/dev/kvm KVMMU_STOCK=1 KVMMU_MODULE=kvm"
		fi
		mark control.unload
		unload_stock || true
		# shellcheck disable=SC2086
		if load_ours kvm.load kvm.ko ${3:-}; then
			"$1" "kvmmu.r$_r" "KVMMU_DEV=/dev/kvm KVMMU_MODULE=kvm"
			unload_ours kvm.unload kvm || true
		fi
	done
}

# bench_plan: the plan line of a bench VM.
bench_plan() {
	_pl=
	for _r in $(bench_rounds); do
		_pl="$_pl bench.kvm_amd.r$_r bench.kvmmu.r$_r"
	done
	say "plan$_pl"
	# What the guest kernel sees of the (emulated) CPU: which per-entry
	# mitigations KVM and kvmmu turn on follows from these.
	{
		echo "# guest cpu flags: $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)"
		for _v in /sys/devices/system/cpu/vulnerabilities/*; do
			echo "# guest vulnerability ${_v##*/}: $(cat "$_v")"
		done
	} >&3 2>&1
}

# group_bench <fn> [<kvm_amd param> <kvm.ko param>]: bench_both, after
# the hugetlb pool is filled.
group_bench() {
	# hugetlb demand paging: 64M + 2M of alignment in 2M pages, taken
	# while memory is not fragmented yet (later, even after compaction,
	# the pool did not always fill and the mmap failed ENOMEM).
	echo 48 >/proc/sys/vm/nr_hugepages
	bench_both "$@"
}

kmsg "init $KERNEL mode=$MODE T=$T"
case "$MODE" in
demo)
	echo "=== kvmmu demo on $KERNEL: insmod kvmmu.ko, run the demo VMM"
	insmod /kvmmu/kvmmu.ko && /tests/kvmmu-demo /dev/kvmmu
	echo "=== demo exit status $?"
	reboot -f
	;;
qemu-demo)
	# make run-qemu: kvmmu as kvm.ko, QEMU on it, its guest's pagemap
	say "plan kvm.qemu_load kvmmu.qemu_pagemap kvm.qemu_unload"
	mount_check
	if [ "$HAVE_QEMU" != 1 ]; then
		mark kvmmu.qemu_pagemap
		check kvmmu.qemu_pagemap FAIL precondition "QEMU is not in the initramfs (/qemu)"
	elif load_ours kvm.qemu_load kvm.ko; then
		qemu_pagemap kvmmu.qemu_pagemap
	fi
	unload_ours kvm.qemu_unload kvm || true
	finish
	;;
shell)
	echo "kvmmu vm-shell ($KERNEL): stock kvm stack in /stock (order in /stock/order),"
	echo "our modules in /kvmmu, tests in /tests. Exit the shell to end the VM."
	insmod /kvmmu/kvmmu.ko && echo "kvmmu.ko loaded: /dev/kvmmu"
	setsid cttyhack sh -l
	reboot -f
	;;
bench)
	bench_plan
	group_bench bench_workloads
	finish
	;;
bench-shadow)
	bench_plan
	group_bench bench_shadow npt=0 tdp=0
	finish
	;;
bench-smp)
	bench_plan
	bench_both bench_smp
	finish
	;;
bench-rw)
	bench_plan
	bench_both bench_rw
	finish
	;;
selftest)
	say "plan $(for t in selftest.kunit_warn selftest.fail selftest.hang selftest.todo \
		selftest.exit127 selftest.missing selftest.dynamic selftest.noexec selftest.script; do
		want $t && printf '%s ' $t
	done)"
	mount_check
	group_selftest
	finish
	;;
*)
	up=$(upstream_lines | awk '{ print $1 }')
	plan="control.guest control.string_io control.hardening control.vcpu_state control.msr control.events control.hostmem"
	if [ "$KERNEL" != debug ]; then
		plan="$plan control.guest_test control.race control.memslot_test"
		if [ "$KERNEL" = stock612 ]; then
			plan="$plan control.fuzz"
			[ "$FUZZ_REPLAY" = 1 ] && plan="$plan control.fuzz_replay"
		fi
		for b in $up; do plan="$plan control.upstream.$b"; done
	else
		plan="$plan $(upstream_lines | awk -v bins=" $UPSTREAM_DEBUG_CONTROL " \
			'index(bins, " " $2 " ") { printf "control.upstream.%s ", $1 }')"
	fi
	plan="$plan kvmmu.memslot_test kvmmu.guest kvmmu.string_io kvmmu.hardening kvmmu.vcpu_state kvmmu.msr kvmmu.events kvmmu.hostmem kvmmu.guest_test kvmmu.race"
	[ "$PLAN_FAILNTH" = 1 ] && plan="$plan kvmmu.failnth"
	plan="$plan kvmmu.fuzz"
	[ "$PLAN_KUNIT" = 1 ] && plan="$plan kvmmu.kunit"
	plan="$plan control.shadow kvmmu.shadow"
	for _sp in $SHADOW_OTHERS; do
		plan="$plan control.shadow_${_sp%%:*} kvmmu.shadow_${_sp%%:*}"
	done
	plan="$plan kvm.dev kvm.memslot_test"
	for b in $up; do plan="$plan kvm.upstream.$b"; done
	plan="$plan $(upstream_shadow_plan control) $(upstream_shadow_plan kvm)"
	plan="$plan $(qemu_tests control) $(qemu_tests kvmmu)"
	[ "$PLAN_KMEMLEAK" = 1 ] && plan="$plan kmemleak"
	sel=
	for t in $plan; do want "$t" && sel="$sel $t"; done
	say "plan$sel"
	mount_check
	preconditions
	kmemleak_clear
	group_control
	group_kvmmu
	group_shadow
	group_kvm
	group_upstream_shadow
	group_qemu
	group_kmemleak
	finish
	;;
esac
