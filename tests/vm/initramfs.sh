#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# initramfs.sh <kernel> <out.cpio.gz> [--mode check|selftest|shell|bench|bench-smp|bench-rw|bench-shadow|demo|qemu-demo]
#              [--mods DIR] [--tests DIR] [--timeout S]
# Build the test VM's initramfs: static busybox, /init (init.sh), the
# kernel's own kvm stack for the control run (/stock, decompressed, with the
# load order resolved by `modinfo -F depends`), our modules (/kvmmu, kept
# apart because our kvm.ko has the stock module's name), the selftest
# binaries (/tests) and /etc/kvmmu.conf (kernel name, mode, T= filter, and
# HAVE_* for what the kernel's config has: debugfs, KUnit, failslab,
# kmemleak).
# Defaults: --mods build/<kernel> (kvmmu/*.ko, kvm/kvm.ko),
# --tests build/selftests, --mode check, T from the environment.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${1:-}
out=${2:-}
if ! valid_kernel "$kernel" || [ -z "$out" ]; then
	die "usage: initramfs.sh <kernel> <out.cpio.gz> [--mode M] [--mods DIR] [--tests DIR] [--timeout S]"
fi
shift 2
mode=check mods="$BUILD/$kernel" tests="$BUILD/selftests" timeout=${KVMMU_TEST_TIMEOUT:-600}
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2 ;;
	--mods) mods=$2 ;;
	--tests) tests=$2 ;;
	--timeout) timeout=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done

ensure_pkgs busybox-static cpio kmod xz-utils gzip
eval "$("$VMDIR/kernel.sh" "$kernel")"
: "${KMODS:?}"

root=$(mktemp -d "${TMPDIR:-/tmp}/kvmmu-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,stock,kvmmu,tests}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$VMDIR/init.sh" "$root/init"
chmod 755 "$root/init"

# --- the kernel's own kvm stack, dependencies first --------------------------
declare -A modfile=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	modfile[${n//-/_}]=$f
done < <(find "$KMODS/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')

order=()
declare -A seen=()
add_mod() { # add_mod NAME: dependencies first, each once
	local n=${1//-/_} d
	[ -n "${seen[$n]:-}" ] && return 0
	seen[$n]=1
	local f=${modfile[$n]:-}
	if [ -z "$f" ]; then
		# built in, or not built at all: builtin is fine
		grep -q "/${1}.ko\$\|/${n}.ko\$" "$KMODS/modules.builtin" 2>/dev/null && return 0
		die "$kernel: module $1 not found in $KMODS"
	fi
	for d in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_mod "$d"
	done
	order+=("$n")
}
add_mod kvm_amd
for n in "${order[@]}"; do
	f=${modfile[$n]}
	case "$f" in
	*.xz) xz -dc "$f" >"$root/stock/$n.ko" ;;
	*.zst) zstd -qdc "$f" >"$root/stock/$n.ko" ;;
	*.gz) gzip -dc "$f" >"$root/stock/$n.ko" ;;
	*) cp "$f" "$root/stock/$n.ko" ;;
	esac
	echo "$n" >>"$root/stock/order"
done
log "$kernel: stock kvm stack: ${order[*]}"

# --- our modules (missing ones are reported by /init as failures) ---------------
for f in "$mods/kvmmu/kvmmu.ko" "$mods/kvmmu/kvmmu_test.ko" "$mods/kvm/kvm.ko"; do
	[ -e "$f" ] && cp "$f" "$root/kvmmu/"
done

# --- test binaries -------------------------------------------------------------
if [ -d "$tests" ]; then
	find "$tests" -maxdepth 1 -type f -perm -u+x -exec cp {} "$root/tests/" \;
fi
# Upstream KVM selftests (upstream.sh), listed with their arguments.
if [ -d "$BUILD/upstream" ]; then
	find "$BUILD/upstream" -maxdepth 1 -type f -perm -u+x -exec cp {} "$root/tests/" \;
	cp "$BUILD/upstream/list" "$root/tests/upstream.list"
fi

# --- QEMU and its L2 guest (group_qemu; bench_qemu), when the plan has them -
# Debian's own qemu-system-x86_64 with the libraries ldd names, run through
# their own loader (/qemu/lib, nothing in the VM's /lib: a dynamic test
# binary must still fail to run), the three ROMs a -kernel boot on pc and
# q35 opens (bios-256k.bin, kvmvapic.bin, linuxboot_dma.bin, seen with
# strace), and the L2 guest: the stock 6.12 kernel with a busybox initramfs
# (l2-init.sh). No 9p: the debug kernel has no virtio. ~60 MiB more.
QEMU_TESTS="control.qemu_boot_pc_irqchip_off control.qemu_boot_q35_irqchip_off control.qemu_boot_pc control.qemu_migrate control.qemu_migrate_file kvmmu.qemu_boot_pc kvmmu.qemu_boot_q35 kvmmu.qemu_migrate kvmmu.qemu_migrate_file kvmmu.qemu_pagemap kvmmu.qemu_boot_pc_tdp0 kvmmu.qemu_migrate_tdp0"
want_qemu() {
	local p t
	# make bench times QEMU on both modules (init.sh, bench_qemu), NPT
	# and shadow (bench_shadow)
	[ "$mode" = bench ] && return 0
	[ "$mode" = bench-shadow ] && return 0
	[ "$mode" = qemu-demo ] && return 0
	[ "$mode" = check ] || return 1
	[ -z "${T:-}" ] && return 0
	for p in $T; do
		for t in $QEMU_TESTS; do
			# kvmmu's are only SKIPped with QEMU_KVMMU=0
			[ "${QEMU_KVMMU:-1}" != 1 ] && [ "${t#kvmmu.}" != "$t" ] && continue
			case "$t" in *"$p"*) return 0 ;; esac
		done
	done
	return 1
}
# The L2 data sets (l2-init.sh): sizes, and the md5 of each, computed here
# once per size (cached in $BUILD/qemu-l2).
L2_MIB=256 L2_ROUNDS=6 L2_ROUND_MIB=32 L2_FORKS=300 L2_BENCH_MIB=64
l2_gen() { # l2_gen <tag> <MiB> <blk>: what l2-init.sh's gen writes
	local i
	for ((i = 0; i < $2; i++)); do
		echo "$1 chunk $i"
		cat "$3"
	done
}
add_qemu() {
	local q=$root/qemu l2 f r sums
	ensure_pkgs qemu-system-x86 seabios
	mkdir -p "$q"/{bin,lib,share,guest}
	cp /usr/bin/qemu-system-x86_64 "$q/bin/"
	ldd /usr/bin/qemu-system-x86_64 | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while IFS= read -r f; do cp -L "$f" "$q/lib/"; done
	[ -e "$q/lib/ld-linux-x86-64.so.2" ] || die "no ld-linux-x86-64.so.2 in ldd's output"
	for f in seabios/bios-256k.bin qemu/kvmvapic.bin qemu/linuxboot_dma.bin; do
		cp -L "/usr/share/$f" "$q/share/"
	done
	(eval "$("$VMDIR/kernel.sh" stock612)" && cp "$KIMG" "$q/guest/vmlinuz")
	l2=$(mktemp -d "${TMPDIR:-/tmp}/kvmmu-l2.XXXXXX")
	mkdir -p "$l2"/{bin,dev,proc,sys,etc}
	cp /bin/busybox "$l2/bin/busybox"
	ln -s busybox "$l2/bin/sh"
	cp "$VMDIR/l2-init.sh" "$l2/init"
	chmod 755 "$l2/init"
	seq 1 200000 >"$l2/blk"
	truncate -s 1048576 "$l2/blk"
	sums="$BUILD/qemu-l2/sums-$L2_MIB-$L2_ROUNDS-$L2_ROUND_MIB-$L2_BENCH_MIB"
	if [ ! -s "$sums" ]; then
		mkdir -p "$BUILD/qemu-l2"
		{
			echo "SUM_boot=$(l2_gen boot "$L2_MIB" "$l2/blk" | md5sum | cut -d' ' -f1)"
			echo "SUM_bench=$(l2_gen bench "$L2_BENCH_MIB" "$l2/blk" | md5sum | cut -d' ' -f1)"
			for ((r = 1; r <= L2_ROUNDS; r++)); do
				echo "SUM_r$r=$(l2_gen "r$r" "$L2_ROUND_MIB" "$l2/blk" | md5sum | cut -d' ' -f1)"
			done
		} >"$sums.tmp.$$"
		mv "$sums.tmp.$$" "$sums"
	fi
	{
		echo "MIB=$L2_MIB ROUNDS=$L2_ROUNDS ROUND_MIB=$L2_ROUND_MIB FORKS=$L2_FORKS BENCH_MIB=$L2_BENCH_MIB"
		cat "$sums"
	} >"$l2/etc/l2.conf"
	(cd "$l2" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$q/guest/initrd.gz"
	rm -rf "$l2"
	log "$kernel: QEMU $(qemu-system-x86_64 --version | head -n1) and its L2 guest: $(du -sh "$q" | cut -f1)"
}
have_qemu=0
if want_qemu; then
	add_qemu
	have_qemu=1
fi

# What the kernel has, from its config: /init plans the suites that need it
# and FAILs a missing precondition instead of leaving the suite out.
have() { # have CONFIG_X...: all built in
	local c
	for c in "$@"; do grep -q "^$c=y\$" "$KDIR/.config" || { echo 0; return; }; done
	echo 1
}
[ -r "$KDIR/.config" ] || die "$kernel: no $KDIR/.config to tell what the kernel has"
have_kmemleak=$(have CONFIG_DEBUG_KMEMLEAK)
grep -q '^CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y$' "$KDIR/.config" && have_kmemleak=0

cat >"$root/etc/kvmmu.conf" <<CONF
KERNEL=$kernel
MODE=$mode
T='${T:-}'
TIMEOUT=$timeout
FUZZ_SEEDS='${FUZZ_SEEDS:-1 2 3}'
FUZZ_CALLS=${FUZZ_CALLS:-40000}
FUZZ_GUESTS=${FUZZ_GUESTS:-100}
FUZZ_DIFF=${FUZZ_DIFF:-1}
FUZZ_REPLAY=${FUZZ_REPLAY:-0}
BENCH_QUICK=${BENCH_QUICK:-0}
HAVE_DEBUGFS=$(have CONFIG_DEBUG_FS)
HAVE_KUNIT=$(have CONFIG_KUNIT CONFIG_KUNIT_DEBUGFS)
HAVE_FAILSLAB=$(have CONFIG_FAILSLAB CONFIG_FAULT_INJECTION_DEBUG_FS)
HAVE_KMEMLEAK=$have_kmemleak
HAVE_PAGE_IDLE=$(have CONFIG_IDLE_PAGE_TRACKING)
HAVE_INET=$(have CONFIG_INET)
HAVE_QEMU=$have_qemu
QEMU_KVMMU=${QEMU_KVMMU:-1}
QEMU_PROBE=${QEMU_PROBE:-0}
QEMU_REPEAT=${QEMU_REPEAT:-1}
QEMU_KIRQ=${QEMU_KIRQ:-0}
QEMU_TDP=${QEMU_TDP:-1}
UPSTREAM_TDP0_DEBUG=${UPSTREAM_TDP0_DEBUG:-1}
CONF

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
log "$kernel: initramfs $out ($(du -h "$out" | cut -f1)), tests: $(cd "$root/tests" && echo *)"
