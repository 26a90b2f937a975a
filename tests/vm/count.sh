# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# count.sh: the counting of `make check` (sourced by check.sh, and by
# selftest-harness.sh to prove it). Every result is one line `ok|FAIL <name>`;
# a test group named <kernel>/control.* ran against stock kvm_amd (the
# control), everything else is ours (kvmmu). Skipped cases (`ok ... # SKIP`)
# are in neither the passed nor the failed number.

COUNT_OUT=${COUNT_OUT:-/dev/null}
k_passed=0 k_failed=0 k_skipped=0
c_passed=0 c_failed=0 c_skipped=0
c_broken=0

# record <line>: count and echo one ok/FAIL line (and append it to
# $COUNT_OUT); "# " and indented lines are echoed, anything else dropped.
record() {
	local l=$1 name side=k
	case "$l" in
	"ok "* | "FAIL "*) ;;
	"# "* | "    "*)
		echo "$l"
		return 0
		;;
	*) return 0 ;;
	esac
	name=${l#* }
	name=${name%% *}
	case "$name" in
	*/control.*) side=c ;;
	esac
	case "$l" in
	"ok "*"# SKIP"*) eval "${side}_skipped=\$((${side}_skipped + 1))" ;;
	"ok "*) eval "${side}_passed=\$((${side}_passed + 1))" ;;
	"FAIL "*)
		eval "${side}_failed=\$((${side}_failed + 1))"
		case "$name" in */control.load/* | */control.guest/*) c_broken=1 ;; esac
		;;
	esac
	echo "$l"
	echo "$l" >>"$COUNT_OUT"
}

# run_counted <name> <cmd...>: run a script whose stdout is ok/FAIL lines,
# counting them. The script's own exit status counts too: non-zero without
# a FAIL line of its own (it crashed, or could not run at all) is
# `FAIL <name>/exit`, never silence.
run_counted() {
	local name=$1 line xrc='' nfail=0
	shift
	while IFS= read -r line; do
		case "$line" in
		"run_counted-rc "*)
			xrc=${line#run_counted-rc }
			continue
			;;
		"FAIL "*) nfail=$((nfail + 1)) ;;
		esac
		record "$line"
	done < <(
		r=0
		"$@" || r=$?
		echo
		echo "run_counted-rc $r"
	)
	if [ -z "$xrc" ]; then
		record "FAIL $name/exit   # exit status lost: $*"
	elif [ "$xrc" != 0 ] && [ "$nfail" = 0 ]; then
		record "FAIL $name/exit   # exit status $xrc without a FAIL line: $*"
	fi
}

# summary: the last lines of `make check`; CI reads the very last one.
summary() {
	local skipped=$((k_skipped + c_skipped)) env=
	if [ $skipped -gt 0 ]; then
		echo "# $skipped skipped (counted in neither number below)"
	fi
	[ $c_broken = 1 ] && env=" -- ENVIRONMENT BROKEN (the control failed to load or run a guest)"
	echo "kvmmu: $k_passed passed, $k_failed failed, $k_skipped skipped"
	echo "control (kvm_amd): $c_passed passed, $c_failed failed$env"
	echo "$((k_passed + c_passed)) passed, $((k_failed + c_failed)) failed"
}
