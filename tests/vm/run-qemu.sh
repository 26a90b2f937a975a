#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-qemu.sh <kernel> <initrd> <outdir> [--shell] [--timeout S] [-- qemu args]
# Boot one test VM under QEMU TCG with nested SVM (-cpu max). Serial port 0
# (the kernel console) goes to <outdir>/console.log, serial port 1 (the
# harness's results) to <outdir>/results.log. The whole VM runs under
# `timeout` so that a wedged guest still ends; the exit status is QEMU's
# (124 = killed by the overall timeout). --shell puts the console on the
# terminal instead, for vm-shell.sh.
#
# Why these flags: thread=single avoids the multi-threaded-TCG code patching
# oops seen with the stock 6.12 kernel (REFERENCE.md 1); -no-reboot turns
# the harness's final `reboot -f` and any panic (panic=-1) into QEMU exiting;
# panic_on_warn/oops=panic make a WARN end the run where it happened.
# hugepagesz=1G hugepages=1 reserves the 1 GiB page guest_test's hugetlb_1g
# maps (at runtime one rarely finds 1 GiB free and aligned); -m 3G keeps
# 2 GiB beside it. TCG allocates guest RAM lazily, so it costs the host
# only what the VM touches.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${1:-}
initrd=${2:-}
outdir=${3:-}
if ! valid_kernel "$kernel" || [ -z "$initrd" ] || [ -z "$outdir" ]; then
	die "usage: run-qemu.sh <kernel> <initrd> <outdir> [--shell] [--timeout S] [-- qemu args]"
fi
shift 3
# The whole VM's cap: stock612 ran 1240 s and debug 1896 s before the
# shadow MMU's upstream and QEMU tests (issue 18) added ~1140 s to stock612
# and ~1050 s to debug (~3000 s on a loaded machine); a slower machine must
# not cut the debug VM off. A wedged VM still ends.
shell=0 vmtimeout=${KVMMU_VM_TIMEOUT:-4000}
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--shell) shell=1 ;;
	--timeout)
		vmtimeout=$2
		shift
		;;
	--)
		shift
		extra=("$@")
		break
		;;
	*) die "unknown option $1" ;;
	esac
	shift
done

ensure_pkgs qemu-system-x86
eval "$("$VMDIR/kernel.sh" "$kernel")"
: "${KIMG:?}"
mkdir -p "$outdir"

# A second -smp/-accel in $extra (bench: icount, -smp 1) overrides these.
accel="tcg,thread=single"
smp=2
for a in "${extra[@]}"; do
	case "$a" in
	-smp) smp= ;;
	esac
done
cmdline="console=ttyS0 panic_on_warn=1 oops=panic panic=-1 rdinit=/init"
cmdline+=" hugepagesz=1G hugepages=1"
cmdline+=" loglevel=7 printk.devkmsg=on ${KVMMU_APPEND:-}"

# ivshmem-plain: a PCI BAR that is RAM, for memslots on VM_PFNMAP HVAs
# (hostmem_test). SC2054: the commas are QEMU's, inside one argument.
# shellcheck disable=SC2054
args=(-accel "$accel" -cpu max -m 3G -nographic -no-reboot
	-object memory-backend-ram,id=ivshmem,size=1M
	-device ivshmem-plain,memdev=ivshmem
	-kernel "$KIMG" -initrd "$initrd" -append "$cmdline")
[ -n "$smp" ] && args+=(-smp "$smp")
if [ $shell = 1 ]; then
	args+=(-serial mon:stdio -serial "file:$outdir/results.log")
	exec qemu-system-x86_64 "${args[@]}" "${extra[@]}"
fi
: >"$outdir/console.log"
: >"$outdir/results.log"
args+=(-monitor none -serial "file:$outdir/console.log" -serial "file:$outdir/results.log")
# The exact command line, for the bench's metadata (bench.sh).
printf '%q ' qemu-system-x86_64 "${args[@]}" "${extra[@]}" >"$outdir/qemu-cmdline"
echo >>"$outdir/qemu-cmdline"
t0=$SECONDS
rc=0
timeout --foreground -k 10 "$vmtimeout" qemu-system-x86_64 "${args[@]}" "${extra[@]}" \
	</dev/null >"$outdir/qemu.log" 2>&1 || rc=$?
echo "$((SECONDS - t0))" >"$outdir/vm-seconds"
if [ $rc = 124 ]; then
	log "$kernel: VM killed after the overall timeout of ${vmtimeout}s"
	echo "kvmmu-harness: vm-timeout ${vmtimeout}" >>"$outdir/results.log"
elif [ $rc != 0 ]; then
	log "$kernel: qemu exited with $rc: $(tail -n3 "$outdir/qemu.log")"
fi
log "$kernel: VM ran $((SECONDS - t0)) s, logs in $outdir"
exit $rc
