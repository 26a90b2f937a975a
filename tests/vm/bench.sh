#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`. One stock612 VM under `-icount shift=N,sleep=off
# -smp 1`: guest time advances with executed instructions, so running both
# contenders in the same VM gives ratios that do not depend on host noise
# (REFERENCE.md 1). Every workload (init.sh bench_workloads: memslot_bench,
# guest_bench, and the upstream demand_paging_test, memslot_perf_test,
# dirty_log_perf_test, kvm_page_table_test, and Debian's QEMU booting the
# L2 guest of l2-init.sh) runs against stock kvm_amd and
# against our module loaded as kvm.ko (/dev/kvm), interleaved: kvm_amd,
# kvmmu, kvm_amd, kvmmu. Prints a table workload | kvm_amd | kvmmu | ratio
# | class (ratio = kvmmu / kvm_amd; every value is a time, lower is better;
# a value measured more than once is shown as the fastest, and the output
# says which repeats differ by more than 2%), and the summary: the
# geometric mean of the ratios of the rows of class "mmu". The other
# classes, left out of it, and why (performance.rst, "Row classes"):
#   tick      the value is mostly where a scheduler tick falls
#   quirk     kvm_amd with KVM_X86_QUIRK_SLOT_ZAP_ALL: not like for like
#   host      no module code runs in it (the host's own work)
#   derived   a sum or difference of other rows (qemu_total_s: the QEMU
#             phases and the poweroff)
#   realtime  the -smp 2 VM, real time, not icount
#   vmm       qemu_*: Debian's QEMU booting an L2 guest, kernel-irqchip=off
#             on both (like for like); the whole VMM stack, not the MMU
#             alone: a summary of its own
#   reference qemu_kirq_*: kvm_amd with its in-kernel irqchip beside
#             kvmmu's (only) irqchip-off run: what kvm_amd's default gives
#   shadow_mmu, shadow_vmm
#             shadow_*: the shadow MMU pass, a second icount VM
#             (init.sh bench_shadow): kvm_amd npt=0 against kvmmu tdp=0,
#             interleaved the same way, for guest_bench,
#             demand_paging_test and the QEMU L2 boot; classed as the row
#             without the prefix, the mmu and vmm ones with summaries of
#             their own (host and derived rows stay host and derived)
# A value "failed" (init.sh: QEMU's L2 guest did not finish) makes its row
# FAIL, whatever other rounds measured.
# Writes build/bench/results.json and build/bench/metadata.txt (the exact
# commands run in each VM, the QEMU command lines and version, the kernel
# package, the commit, the date), copies both to
# bench/results/<date>-<commit>.{json,txt}, and a PNG chart of the ratios
# beside them when gnuplot is there.
# memslot_perf_test's RW runs alone in a third VM at ICOUNT_SHIFT_RW: its
# first touch of 512 MiB must fit a 10 s alarm (init.sh bench_rw); its rows
# are marked with that shift in the table and the JSON.
# Env: BENCH_KERNEL (stock612), ICOUNT_SHIFT (3), ICOUNT_SHIFT_RW (2),
# BENCH_QUICK=1: the two icount VMs only (NPT and shadow), one round,
# shortened runs: to check that every row comes out, not to measure.
# BENCH_SHADOW_ONLY=1: the shadow MMU's VM only (its shadow_* rows and
# summaries; the other summaries come out null).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

k=${BENCH_KERNEL:-stock612}
shift_n=${ICOUNT_SHIFT:-3}
shift_rw=${ICOUNT_SHIFT_RW:-2}
out="$BUILD/bench"
mkdir -p "$out"
# The selftests need the 6.12 UAPI headers from linux-source-6.12.
ensure_pkgs linux-source-6.12 xz-utils make gcc libc6-dev
"$VMDIR/kernel.sh" "$k" >/dev/null
"$VMDIR/build-module.sh" "$k"
make -s -C "$REPO/tests/selftests" OUT="$BUILD/selftests"
[ -x "$BUILD/selftests/memslot_bench" ] || die "memslot_bench was not built"
"$VMDIR/upstream.sh"
quick=${BENCH_QUICK:-0}
export BENCH_QUICK=$quick
shadow_only=${BENCH_SHADOW_ONLY:-0}
t_start=$SECONDS
# 1: everything, icount, one CPU. 1s: the shadow MMU (npt=0 / tdp=0), the
# same icount, one CPU. 2: fault-in scaling, real time, 2 CPUs. 3:
# memslot_perf_test RW, a smaller icount shift, one CPU. In sequence: one VM
# at a time (the caller's vmrun holds one slot).
vms="vm vm-shadow"
if [ "$shadow_only" = 1 ]; then
	vms="vm-shadow"
	rm -rf "$out/vm"
else
	"$VMDIR/initramfs.sh" "$k" "$out/initramfs.cpio.gz" --mode bench --timeout 1800
	"$VMDIR/run-qemu.sh" "$k" "$out/initramfs.cpio.gz" "$out/vm" --timeout 5400 \
		-- -icount "shift=$shift_n,sleep=off" -smp 1 || true
	"$VMDIR/verdict.sh" "$k" "$out/vm" >"$out/verdict.txt" || true
	grep '^FAIL' "$out/verdict.txt" >&2 || true
fi
# The shadow MMU's rows: the same icount shift, a VM of their own.
"$VMDIR/initramfs.sh" "$k" "$out/initramfs-shadow.cpio.gz" --mode bench-shadow --timeout 1800
"$VMDIR/run-qemu.sh" "$k" "$out/initramfs-shadow.cpio.gz" "$out/vm-shadow" --timeout 5400 \
	-- -icount "shift=$shift_n,sleep=off" -smp 1 || true
"$VMDIR/verdict.sh" "$k" "$out/vm-shadow" >"$out/verdict-shadow.txt" || true
grep '^FAIL' "$out/verdict-shadow.txt" >&2 || true
rm -rf "$out/vm-smp" "$out/vm-rw"
if [ "$quick" != 1 ] && [ "$shadow_only" != 1 ]; then
	vms="vm vm-shadow vm-smp vm-rw"
	"$VMDIR/initramfs.sh" "$k" "$out/initramfs-smp.cpio.gz" --mode bench-smp --timeout 1800
	"$VMDIR/run-qemu.sh" "$k" "$out/initramfs-smp.cpio.gz" "$out/vm-smp" --timeout 1800 \
		-- -smp 2 || true
	"$VMDIR/initramfs.sh" "$k" "$out/initramfs-rw.cpio.gz" --mode bench-rw --timeout 1800
	"$VMDIR/run-qemu.sh" "$k" "$out/initramfs-rw.cpio.gz" "$out/vm-rw" --timeout 1800 \
		-- -icount "shift=$shift_rw,sleep=off" -smp 1 || true
fi
t_vms=$((SECONDS - t_start))

commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=
if git -C "$REPO" status --porcelain 2>/dev/null | grep -qv '^??'; then dirty=-dirty; fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
logs=()
for v in $vms; do logs+=("$out/$v/results.log"); done
cat "${logs[@]}" 2>/dev/null |
	tr -d '\r' | awk -v kernel="$k" -v shift_n="$shift_n" -v shift_rw="$shift_rw" \
	-v commit="$commit$dirty" -v stamp="$stamp" -v json="$out/results.json" \
	-v dat="$out/ratios.dat" -v quick="$quick" '
# jv(v): a value as JSON: null when missing, "FAIL" when a run failed.
function jv(v) { return v == "" ? "null" : v == "FAIL" ? "\"FAIL\"" : v }
# class(w, a, b): which rows the summary leaves out, and why
# (performance.rst, "Row classes").
function class(w, a, b,    c) {
	# The shadow VM: its rows are classed as their TDP counterparts,
	# and the mmu and vmm ones get summaries of their own.
	if (w ~ /^shadow_/) {
		c = class(substr(w, 8), a, b)
		return c == "mmu" ? "shadow_mmu" : c == "vmm" ? "shadow_vmm" : c
	}
	# Two threads spin on the one CPU and hand it over at slice ends:
	# unmap chunked follows the tick (HRTICK shortens the slice, the
	# handover stays); a dirty_log_perf_test timing that lasts one to
	# five ticks (3.9-20 ms) in either contender is whole ticks more or
	# less.
	if (w ~ /unmap_chunked/) return "tick"
	if (w ~ /^dirty_log_/ && ((a + 0 >= 0.0039 && a + 0 < 0.02) ||
	    (b + 0 >= 0.0039 && b + 0 < 0.02))) return "tick"
	# kvm_amd zaps every SPTE on a slot move with the quirk on.
	if (w ~ /^memslot_perf_move_/) return "quirk"
	if (w ~ /^smp_/) return "realtime"
	if (w ~ /^host_/) return "host"
	if (w == "faultin_limit_ns" || w ~ /_mmu_ns$/) return "derived"
	if (w ~ /^qemu_kirq_/) return "reference"
	# QEMU start to exit: the phases again, plus poweroff.
	if (w == "qemu_total_s") return "derived"
	if (w ~ /^qemu_/) return "vmm"
	return "mmu"
}
/^kvmmu-harness: begin bench\./ {
	cur = $3; sub(/^bench\./, "", cur); sub(/\.r[0-9]+$/, "", cur); next
}
/^kvmmu-harness: / { next }
cur != "" && $1 == "bench" && NF >= 3 {
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
	if ($3 == "failed") { bad[cur, $2] = 1; next }
	if ((cur, $2) in val) {
		# A repeated run of the same workload: how far from the
		# fastest run before it?
		d = val[cur, $2] + 0 > 0 ? ($3 - val[cur, $2]) / val[cur, $2] : 0
		if (d < 0) d = -d
		reps++
		if (d > maxdev) { maxdev = d; maxw = cur " " $2 }
		if (d > 0.02) { far++; farw = farw sprintf("\n  %s %s: %s and %s", cur, $2, val[cur, $2], $3) }
		# Every value is a time: the faster run is the one reported.
		if ($3 + 0 < val[cur, $2] + 0) val[cur, $2] = $3
		next
	}
	val[cur, $2] = $3
}
END {
	printf("%-38s | %12s | %12s | %7s | %s\n", "workload", "kvm_amd", "kvmmu", "ratio", "class")
	printf("%-38s-+-%12s-+-%12s-+-%7s-+-%s\n", "--------------------------------------", "------------", "------------", "-------", "--------")
	printf("{\n  \"date\": \"%s\", \"commit\": \"%s\", \"kernel\": \"%s\", \"icount_shift\": %s, \"icount_shift_rw\": %s, \"quick\": %s,\n  \"results\": [", stamp, commit, kernel, shift_n, shift_rw, quick) > json
	for (i = 1; i <= n; i++) {
		w = order[i]
		# The reference rows set the irqchip-off run of kvmmu beside
		# the in-kernel irqchip of kvm_amd: kvmmu has only the one path.
		wb = w
		if (w ~ /^qemu_kirq_/) wb = "qemu_" substr(w, 11)
		a = ((("kvm_amd", w) in val) ? val["kvm_amd", w] : "")
		b = ((("kvmmu", wb) in val) ? val["kvmmu", wb] : "")
		if (("kvm_amd", w) in bad) a = "FAIL"
		if (("kvmmu", wb) in bad) b = "FAIL"
		ok = a != "" && b != "" && a != "FAIL" && b != "FAIL"
		r = (ok && a + 0 > 0) ? sprintf("%.2f", b / a) : "-"
		c = class(w, a, b)
		if (c == "mmu" && r != "-" && b + 0 > 0) { lsum += log(b / a); nm++ }
		if (c == "vmm" && r != "-" && b + 0 > 0) { vsum += log(b / a); nv++ }
		if (c == "vmm" && !ok) vfail++
		if (c == "shadow_mmu" && r != "-" && b + 0 > 0) { ssum += log(b / a); ns++ }
		if (c == "shadow_vmm" && r != "-" && b + 0 > 0) { svsum += log(b / a); nsv++ }
		if ((c == "shadow_mmu" || c == "shadow_vmm") && !ok) sfail++
		printf("%-38s | %12s | %12s | %7s | %s\n", w, a == "" ? "-" : a, b == "" ? "-" : b, r, c)
		if (r != "-") printf("%s %s\n", w, r) > dat
		printf("%s\n    {\"workload\": \"%s\", \"kvm_amd\": %s, \"kvmmu\": %s, \"ratio\": %s, \"class\": \"%s\"}", i > 1 ? "," : "", w, jv(a), jv(b), r == "-" ? "null" : r, c) > json
	}
	gm = nm ? sprintf("%.3f", exp(lsum / nm)) : "null"
	gv = nv ? sprintf("%.3f", exp(vsum / nv)) : "null"
	gs = ns ? sprintf("%.3f", exp(ssum / ns)) : "null"
	gsv = nsv ? sprintf("%.3f", exp(svsum / nsv)) : "null"
	printf("\n  ],\n  \"summary\": {\"geomean_mmu\": %s, \"mmu_rows\": %d, \"geomean_vmm\": %s, \"vmm_rows\": %d, \"vmm_failed_rows\": %d,\n    \"geomean_shadow_mmu\": %s, \"shadow_mmu_rows\": %d, \"geomean_shadow_vmm\": %s, \"shadow_vmm_rows\": %d, \"shadow_failed_rows\": %d}\n}\n", gm, nm, gv, nv, vfail, gs, ns, gsv, nsv, sfail) > json
	if (n == 0) print "(no bench lines in the results: see " json ")"
	printf("memslot_perf_RW_*: icount shift=%s, its own VM; smp_*: real time, -smp 2; the rest: icount shift=%s\n", shift_rw, shift_n)
	printf("memslot_perf_move_*: kvm_amd with its default KVM_X86_QUIRK_SLOT_ZAP_ALL; memslot_perf_noquirk_move_*: quirk disabled (-q), the like-for-like rows\n")
	if (reps)
		printf("repeatability: %d repeated runs of a value (the table shows the fastest), %d differ from the fastest before them by more than 2%%, largest %.1f%% (%s)%s\n", reps, far, 100 * maxdev, maxw, farw)
	printf("summary: geometric mean of kvmmu / kvm_amd over the %d rows of class mmu: %s (tick, quirk, host, derived, realtime, vmm and reference rows left out)\n", nm, gm)
	printf("qemu_*: Debian QEMU, -machine pc, kernel-irqchip=off on both; qemu_kirq_*: kvm_amd with its in-kernel irqchip, kvmmu column = its qemu_* run\n")
	printf("summary vmm: geometric mean of kvmmu / kvm_amd over the %d rows of class vmm: %s%s\n", nv, gv, vfail ? sprintf(" (%d vmm rows FAILED, left out)", vfail) : "")
	printf("shadow_*: the shadow MMU, its own VM: kvm_amd npt=0 against kvmmu tdp=0 (the kvm_amd and kvmmu columns)\n")
	printf("summary shadow: geometric mean of kvmmu tdp=0 / kvm_amd npt=0 over the %d rows of class shadow_mmu: %s, over the %d rows of class shadow_vmm: %s%s\n", ns, gs, nsv, gsv, sfail ? sprintf(" (%d shadow rows FAILED, left out)", sfail) : "")
}' | tee "$out/table.txt"

# What a reader needs to repeat the run.
eval "$("$VMDIR/kernel.sh" "$k")"
{
	echo "# make bench metadata"
	echo "date: $stamp"
	echo "commit: $(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)$dirty"
	echo "quick: $quick"
	echo "shadow only: $shadow_only"
	echo "kernel: $k, $KVER, package linux-image-$KVER $(dpkg-query -W -f='${Version}' "linux-headers-$KVER" 2>/dev/null || echo '?')"
	echo "upstream selftests: linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo '?')"
	echo "host qemu: $(qemu-system-x86_64 --version | head -n1), package $(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || echo '?')"
	echo "host: $(uname -srm), $(nproc) CPUs"
	echo "icount shift: $shift_n, RW: $shift_rw"
	echo "VMs ran in sequence, $t_vms s in all"
	for v in $vms; do
		echo
		echo "## $v ($(cat "$out/$v/vm-seconds" 2>/dev/null || echo '?') s)"
		echo "qemu: $(cat "$out/$v/qemu-cmdline" 2>/dev/null || echo '?')"
		# The harness's test frames and the commands inside them.
		tr -d '\r' <"$out/$v/results.log" 2>/dev/null |
			awk '/^kvmmu-harness: (begin|env) / { sub(/^kvmmu-harness: /, ""); print; next }
			     /^# cmd / { sub(/^# cmd /, "  "); print }
			     /^# guest / { sub(/^# /, ""); print }'
	done
} >"$out/metadata.txt"

mkdir -p "$REPO/bench/results"
cp "$out/results.json" "$REPO/bench/results/$stamp-$commit$dirty.json"
cp "$out/metadata.txt" "$REPO/bench/results/$stamp-$commit$dirty.txt"
png="$REPO/bench/results/$stamp-$commit$dirty.png"
ensure_pkgs gnuplot-nox || true
if command -v gnuplot >/dev/null && [ -s "$out/ratios.dat" ]; then
	# Log scale: ratios from 0.03 to 300 share the chart; 1 is the line.
	gnuplot -e "set terminal png size 1600,900 noenhanced; set output '$png';
		set title 'kvmmu / kvm_amd, lower is better ($commit$dirty, $k, icount shift=$shift_n)';
		set style data histograms; set style fill solid; set boxwidth 0.8;
		set xtics rotate by -60 font ',8'; set logscale y; set grid y;
		set ylabel 'ratio (log scale)';
		plot '$out/ratios.dat' using 2:xtic(1) notitle, 1 with lines lw 2 notitle" &&
		log "chart: $png"
fi
log "results: $out/results.json, bench/results/$stamp-$commit$dirty.{json,txt}, VM logs in $out/vm*, $t_vms s of VMs"
