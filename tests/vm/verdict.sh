#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# verdict.sh <kernel> <outdir>: judge one VM run from <outdir>/results.log
# (the harness protocol of init.sh with the raw TAP/KTAP of each test) and
# <outdir>/console.log (the kernel console).
#
# Prints one line per test case, `ok|FAIL <kernel>/<test>/<case>` (skipped
# cases print `ok ... # SKIP`), then a summary line that counts ours and the
# control (control.* tests, stock kvm_amd) apart. A test fails when a TAP
# case fails (`not ok ... # TODO` too: nothing here is allowed to be known
# broken), when it exits non-zero without a failing case (127 and 126 too:
# a binary missing, not static or not executable), when the per-test
# timeout killed it, or when the console shows a kernel report
# (BUG/WARNING/KASAN/UBSAN/lockdep/RCU stall/hung task/Oops/panic/kmemleak)
# after that test's marker. A run without the final "done" marker fails,
# and so does every planned test that never started. Exit status: 0 when
# nothing failed, 1 otherwise.
#
# Why here and not in the tests: lockdep splats, WARNs and leaks never fail a
# KUnit case or a userspace test by themselves (REFERENCE.md 1).
set -euo pipefail

kernel=${1:-}
outdir=${2:-}
if [ -z "$kernel" ] || [ ! -d "$outdir" ]; then
	echo "usage: verdict.sh <kernel> <outdir>" >&2
	exit 2
fi
results="$outdir/results.log"
console="$outdir/console.log"
[ -e "$results" ] || : >"$results"
[ -e "$console" ] || : >"$console"

# Console lines that are kernel reports. Extended regexps, one per line.
# Boot chatter that merely contains such a word is listed in BENIGN.
REPORTS='BUG:
WARNING:
kernel BUG at
KASAN:
UBSAN:
possible circular locking
possible recursive locking
inconsistent lock state
suspicious RCU usage
INFO: 
rcu: .*stall
blocked for more than
suspected memory leak
general protection fault
Oops
Kernel panic
Call Trace:'
BENIGN='kvmmu-harness:
Kernel command line:
Spectre V2 : WARNING: Unprivileged eBPF'

tr -d '\r' <"$console" | awk -v kernel="$kernel" -v reports="$REPORTS" -v benign="$BENIGN" '
BEGIN {
	nrep = split(reports, rep, "\n")
	nben = split(benign, ben, "\n")
	cur = "boot"
	marker = "kvmmu-harness: begin " kernel "/"
}
{
	i = index($0, marker)
	if (i) {
		cur = substr($0, i + length(marker))
		sub(/[ \t].*$/, "", cur)
		expected = 0
		next
	}
	# A test that makes the kernel dump stacks on purpose (fault
	# injection, a memcg OOM) brackets them; only the trace header is
	# let through there, any BUG/WARNING/KASAN/lockdep line still counts.
	if (index($0, "kvmmu-harness: expected-traces begin")) { expected = 1; next }
	if (index($0, "kvmmu-harness: expected-traces end")) { expected = 0; next }
	for (b = 1; b <= nben; b++)
		if ($0 ~ ben[b])
			next
	for (r = 1; r <= nrep; r++) {
		if (expected && rep[r] == "Call Trace:")
			continue
		if ($0 ~ rep[r]) {
			line = $0
			sub(/^\[[ 0-9.]*\] */, "", line)
			print "CONSOLE\t" cur "\t" line
			break
		}
	}
}' >"$outdir/console-reports.txt"

tr -d '\r' <"$results" | awk -v kernel="$kernel" -v reportfile="$outdir/console-reports.txt" '
function emit(status, t, c, why,    i) {
	nout++
	out[nout] = status " " kernel "/" t "/" c (why != "" ? "   # " why : "")
	# a failed case carries the diagnostics printed just before it
	if (status == "FAIL")
		for (i = 1; i <= ndiag; i++)
			out[nout] = out[nout] "\n    " diag[i]
	ndiag = 0
	if (status == "FAIL") { failed++; tfail[t]++ }
	else if (why ~ /^SKIP/) skipped++
	else passed++
}
# close the TAP block that is open in the current test
function end_block() {
	if (blockplan >= 0 && blocktop < blockplan && !blockbail)
		emit("FAIL", cur, "tap-incomplete", blocktop " of " blockplan " results")
	blockplan = -1; blocktop = 0; blockbail = 0
}
function end_test(rc,    s) {
	if (cur == "") return
	end_block()
	# KUnit suite summaries: count them only if the suite showed no cases
	for (s in suitetop) {
		if (suitecases[s] == 0)
			emit(suitetop[s] ~ /^not/ ? "FAIL" : "ok", cur, s, suitetop[s] ~ /^not/ ? "suite failed without a failing case" : "")
		else if (suitetop[s] ~ /^not/ && suitefail[s] == 0)
			emit("FAIL", cur, s, "suite failed without a failing case")
	}
	split("", suitetop); split("", suitecases); split("", suitefail)
	if (rc == "-") {
		# a harness step without an end line, followed by the next step
	} else if (rc == "") {
		emit("FAIL", cur, "incomplete", "VM ended while this test was running")
	} else if (rc == 137) {
		emit("FAIL", cur, "timeout", "killed by the per-test timeout")
	} else if (rc == 4 && ncase[cur] == 0) {
		emit("ok", cur, "run", "SKIP (exit 4)")
	} else if (rc != 0 && tfail[cur] == 0) {
		# 127/126 come from the exec itself when nothing else said why:
		# a missing binary, a dynamic one without its loader, a file
		# that cannot be executed
		emit("FAIL", cur, "exit", "exit status " rc \
			(rc == 127 ? " (not found: missing, or not static)" : \
			 rc == 126 ? " (cannot execute)" : ""))
	} else if (rc == 0 && ncase[cur] == 0) {
		emit("ok", cur, "run", "")
	}
	ended[cur] = 1
	cur = ""
}
function result(line, indent,    ok, desc, why, n) {
	ok = (line ~ /^not ok/) ? 0 : 1
	desc = line
	sub(/^(not )?ok[ \t]+[0-9]*[ \t]*(- )?/, "", desc)
	why = ""
	n = index(desc, "#")
	if (n) {
		why = substr(desc, n + 1)
		desc = substr(desc, 1, n - 1)
		sub(/^[ \t]+/, "", why)
		sub(/[ \t]+$/, "", desc)
		if (why ~ /^[Ss][Kk][Ii][Pp]/) why = "SKIP" substr(why, 5)
		else if (why ~ /^[Tt][Oo][Dd][Oo]/) why = "TODO" substr(why, 5)
		else why = ""
	}
	gsub(/[ \t]+/, "_", desc)
	if (desc == "") desc = "case"
	if (indent == 0) {
		blocktop++
		if (desc in suiteseen) {
			suitetop[desc] = ok ? "ok" : "not ok"
			return
		}
		ncase[cur]++
		emit(ok ? "ok" : "FAIL", cur, desc, why)
	} else if (indent == 4 && sub4 != "") {
		ncase[cur]++
		suitecases[sub4]++
		if (!ok) suitefail[sub4]++
		emit(ok ? "ok" : "FAIL", cur, sub4 "." desc, why)
	}
}
BEGIN {
	cur = ""; blockplan = -1; done = 0; planned = ""
	P = "kvmmu-harness: "
}
{
	line = $0
	if (index(line, P) == 1) {
		rest = substr(line, length(P) + 1)
		n = split(rest, w, " ")
		ndiag = 0
		if (w[1] == "plan") {
			for (i = 2; i <= n; i++) { nplan++; plan[nplan] = w[i] }
		} else if (w[1] == "begin") {
			if (cur != "" && cur != w[2]) end_test("-")
			if (cur != w[2]) { cur = w[2]; sub4 = ""; blockplan = -1; blocktop = 0; order[++ntests] = cur }
			begun[cur] = 1
		} else if (w[1] == "end") {
			rc = w[3]; sub(/^rc=/, "", rc)
			if (cur == w[2]) end_test(rc + 0)
			else { ended[w[2]] = 1 }
		} else if (w[1] == "check") {
			why = ""
			for (i = 5; i <= n; i++) why = why (why == "" ? "" : " ") w[i]
			if (w[3] == "SKIP") why = "SKIP " why
			else if (w[3] == "ok") why = ""
			ncase[w[2]]++
			emit(w[3] == "FAIL" ? "FAIL" : "ok", w[2], w[4], why)
			if (cur != w[2] && !(w[2] in begun)) { begun[w[2]] = 1; checkonly[w[2]] = 1 }
		} else if (w[1] == "done") {
			if (cur != "") end_test("-")
			done = 1
		} else if (w[1] == "vm-timeout") {
			vmtimeout = w[2]
		}
		next
	}
	if (cur == "") next
	match(line, /^ */)
	indent = RLENGTH
	body = substr(line, indent + 1)
	if (body ~ /^K?TAP version/) {
		if (indent == 0) end_block()
		if (indent == 0) sub4 = ""
	} else if (body ~ /^1\.\.[0-9]+/ && indent == 0) {
		blockplan = substr(body, 4) + 0
	} else if (body ~ /^# Subtest: / && indent == 4) {
		sub4 = substr(body, 12); gsub(/[ \t]+/, "_", sub4)
		suiteseen[sub4] = 1
	} else if (body ~ /^(not )?ok( |$)/) {
		result(body, indent)
		ndiag = 0
	} else if (body ~ /^#/ && body !~ /^# +(RUN|OK|SKIP) / && body !~ /^# Subtest:/) {
		# keep the last few diagnostic lines for the next failing case
		if (ndiag == 4) { diag[1] = diag[2]; diag[2] = diag[3]; diag[3] = diag[4]; ndiag = 3 }
		diag[++ndiag] = body
	} else if (body ~ /^Bail out!/ && indent == 0) {
		blockbail = 1
		emit("FAIL", cur, "bail-out", substr(body, 10))
	}
}
END {
	if (cur != "") end_test("")
	# kernel reports on the console, pinned to the test that was running
	while ((getline l < reportfile) > 0) {
		split(l, f, "\t")
		t = f[2]
		if (!(t in nrep)) { nrep[t] = 0; first[t] = f[3]; rorder[++nr] = t }
		nrep[t]++
	}
	for (i = 1; i <= nr; i++) {
		t = rorder[i]
		emit("FAIL", t, "console", nrep[t] " kernel report line(s), first: " first[t])
	}
	for (i = 1; i <= nplan; i++)
		if (!(plan[i] in begun))
			emit("FAIL", plan[i], "not-run", done ? "planned but never started" : "VM ended before this test")
	if (!done)
		emit("FAIL", "vm", "done-marker", vmtimeout != "" ? "VM killed by the overall timeout (" vmtimeout " s)" : "VM ended without the done marker")
	else
		emit("ok", "vm", "done-marker", "")
	for (i = 1; i <= nout; i++) print out[i]
	env = ""
	for (i = 1; i <= nout; i++) {
		if (out[i] ~ ("^FAIL " kernel "/control\\.(load|guest)/"))
			env = " -- ENVIRONMENT BROKEN (control failed)"
		if (out[i] ~ ("^(ok|FAIL) " kernel "/control\\.")) {
			if (out[i] ~ /^FAIL/) cfailed++
			else if (out[i] ~ /   # SKIP/) cskipped++
			else cpassed++
		}
	}
	printf("# %s: kvmmu %d passed, %d failed, %d skipped; control (kvm_amd) %d passed, %d failed, %d skipped%s\n",
		kernel, passed - cpassed, failed - cfailed, skipped - cskipped, cpassed, cfailed, cskipped, env)
	exit (failed > 0 ? 1 : 0)
}'
