#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh: `make lint`, also a counted part of `make check`.
#  - scripts/checkpatch.pl --strict --no-tree -f on each top-level *.c *.h and
#    tests/kunit/*.c (checkpatch.pl, spelling.txt and const_structs.checkpatch
#    come from the linux-source-6.12 tarball, cached), one check per file;
#  - `make W=1 C=1` (extra warnings + sparse) of kvmmu.ko and kvm.ko against
#    each kernel in $KERNELS, one check per kernel and module name; any
#    warning fails it;
#  - shellcheck -x on every shell script (tests/vm/*.sh, .ci/run), one
#    check per script.
# Prints `ok|FAIL lint/...` lines and exits 1 if anything failed. Details of
# a failure are printed indented under its line.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KERNELS=${KERNELS:-stock61 stock612 debug}
ensure_pkgs perl sparse build-essential libelf-dev linux-source-6.12 xz-utils shellcheck
rc=0
out="$BUILD/lint"
mkdir -p "$out"

result() { # result <ok:0|1> <name> <logfile>
	if [ "$1" = 0 ]; then
		echo "ok $2"
	else
		echo "FAIL $2"
		sed 's/^/    /' "$3" | head -n 40
		rc=1
	fi
}

# --- checkpatch --------------------------------------------------------------
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
cp_dir="$CACHE/checkpatch-$srcver"
if [ ! -e "$cp_dir/.ready" ]; then
	rm -rf "$cp_dir"
	mkdir -p "$cp_dir"
	tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$cp_dir" --strip-components=2 \
		linux-source-6.12/scripts/checkpatch.pl linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch
	touch "$cp_dir/.ready"
fi
cd "$REPO"
shopt -s nullglob
files=(*.c *.h tests/kunit/*.c)
shopt -u nullglob
for f in "${files[@]}"; do
	logf="$out/checkpatch-${f//\//_}.log"
	if perl "$cp_dir/checkpatch.pl" --strict --no-tree --no-summary --terse -f "$f" >"$logf" 2>&1 &&
		! grep -qE '(ERROR|WARNING|CHECK):' "$logf"; then
		result 0 "lint/checkpatch/$f" "$logf"
	else
		result 1 "lint/checkpatch/$f" "$logf"
	fi
done

# --- shellcheck ------------------------------------------------------------------
# -x follows the `. lib.sh` lines; each script names its shell (init.sh is
# busybox ash: `# shellcheck shell=sh`).
for f in tests/vm/*.sh .ci/run; do
	logf="$out/shellcheck-${f//\//_}.log"
	if shellcheck -x "$f" >"$logf" 2>&1; then
		result 0 "lint/shellcheck/$f" "$logf"
	else
		result 1 "lint/shellcheck/$f" "$logf"
	fi
done

# --- W=1 C=1 on every kernel -------------------------------------------------------
srcs=()
shopt -s nullglob
srcs=(*.c *.h *.S Kbuild)
shopt -u nullglob
for k in $KERNELS; do
	if ! kv=$("$VMDIR/kernel.sh" "$k" 2>"$out/kernel-$k.log"); then
		echo "FAIL lint/W=1-C=1/$k   # kernel not available, see $out/kernel-$k.log"
		rc=1
		continue
	fi
	eval "$kv"
	for name in kvmmu kvm; do
		d="$out/$k/$name"
		rm -rf "$d"
		mkdir -p "$d/tests"
		cp "${srcs[@]}" "$d/"
		[ -d tests/kunit ] && cp -r tests/kunit "$d/tests/"
		logf="$out/w1c1-$k-$name.log"
		if make -C "$KDIR" M="$d" MODNAME="$name" W=1 C=1 -j"$(nproc)" modules >"$logf" 2>&1 &&
			! grep -qE '(warning|error|WARNING):' "$logf"; then
			result 0 "lint/W=1-C=1/$k/$name" "$logf"
		else
			grep -E '(warning|error|WARNING):' "$logf" >"$logf.short" || tail -n 20 "$logf" >"$logf.short"
			result 1 "lint/W=1-C=1/$k/$name" "$logf.short"
		fi
	done
done
exit $rc
