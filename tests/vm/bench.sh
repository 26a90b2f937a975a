#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`. One stock612 VM under `-icount shift=N,sleep=off
# -smp 1`: guest time advances with executed instructions, so running both
# contenders in the same VM gives ratios that do not depend on host noise
# (REFERENCE.md 1). memslot_bench runs first against stock kvm_amd, then
# against our module loaded as kvm.ko (/dev/kvm). Prints a table
# workload | kvm_amd | kvmmu | ratio (kvmmu / kvm_amd, lower is better for
# times) and writes JSON to build/bench/results.json and
# bench/results/<date>-<commit>.json.
# Env: BENCH_KERNEL (stock612), ICOUNT_SHIFT (3).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

k=${BENCH_KERNEL:-stock612}
shift_n=${ICOUNT_SHIFT:-3}
out="$BUILD/bench"
mkdir -p "$out"
"$VMDIR/kernel.sh" "$k" >/dev/null
"$VMDIR/build-module.sh" "$k"
make -s -C "$REPO/tests/selftests" OUT="$BUILD/selftests"
[ -x "$BUILD/selftests/memslot_bench" ] || die "memslot_bench was not built"
"$VMDIR/initramfs.sh" "$k" "$out/initramfs.cpio.gz" --mode bench --timeout 1800
"$VMDIR/run-qemu.sh" "$k" "$out/initramfs.cpio.gz" "$out/vm" --timeout 3600 \
	-- -icount "shift=$shift_n,sleep=off" -smp 1 || true
"$VMDIR/verdict.sh" "$k" "$out/vm" >"$out/verdict.txt" || true
grep '^FAIL' "$out/verdict.txt" >&2 || true

commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=
if git -C "$REPO" status --porcelain 2>/dev/null | grep -qv '^??'; then dirty=-dirty; fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
tr -d '\r' <"$out/vm/results.log" | awk -v kernel="$k" -v shift_n="$shift_n" \
	-v commit="$commit$dirty" -v stamp="$stamp" -v json="$out/results.json" '
/^kvmmu-harness: begin bench\./ { cur = $3; sub(/^bench\./, "", cur); next }
/^kvmmu-harness: / { next }
cur != "" && $1 == "bench" && NF >= 3 {
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
	val[cur, $2] = $3
}
END {
	printf("%-28s | %12s | %12s | %7s\n", "workload", "kvm_amd", "kvmmu", "ratio")
	printf("%-28s-+-%12s-+-%12s-+-%7s\n", "----------------------------", "------------", "------------", "-------")
	printf("{\n  \"date\": \"%s\", \"commit\": \"%s\", \"kernel\": \"%s\", \"icount_shift\": %s,\n  \"results\": [", stamp, commit, kernel, shift_n) > json
	for (i = 1; i <= n; i++) {
		w = order[i]
		a = ((("kvm_amd", w) in val) ? val["kvm_amd", w] : "")
		b = ((("kvmmu", w) in val) ? val["kvmmu", w] : "")
		r = (a != "" && b != "" && a + 0 > 0) ? sprintf("%.2f", b / a) : "-"
		printf("%-28s | %12s | %12s | %7s\n", w, a == "" ? "-" : a, b == "" ? "-" : b, r)
		printf("%s\n    {\"workload\": \"%s\", \"kvm_amd\": %s, \"kvmmu\": %s, \"ratio\": %s}", i > 1 ? "," : "", w, a == "" ? "null" : a, b == "" ? "null" : b, r == "-" ? "null" : r) > json
	}
	printf("\n  ]\n}\n") > json
	if (n == 0) print "(no bench lines in the results: see " json ")"
}'
mkdir -p "$REPO/bench/results"
cp "$out/results.json" "$REPO/bench/results/$stamp-$commit$dirty.json"
log "results: $out/results.json, bench/results/$stamp-$commit$dirty.json, VM logs in $out/vm"
