#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# l2-init.sh: /init of the small L2 guest that Debian's QEMU boots inside
# the test VM (init.sh, group_qemu), on stock kvm_amd or on kvmmu. Static
# busybox only. Its serial console (ttyS0) is all the test VM reads:
#   l2: checksum <tag> <md5> ok|FAIL [want <md5>]   one per data set
#   l2: round <n> done                                migrate mode
#   l2: forks <n> ok|FAIL                             the fork/exec loop
#   l2: kernel gpa <start>-<end>                      pagemap mode
#   l2: data gpa <gpa> pages <n>                      pagemap mode, per run
#   l2: data held                                     pagemap mode
#   KVMMU-L2-DONE ok|FAIL                             last line, then poweroff
# The data are written to a tmpfs (guest RAM) from /blk, a 1 MiB block,
# each MiB headed by "<tag> chunk <i>" so that no two pages are alike; the
# expected md5 of each set was computed on the host by initramfs.sh
# (/etc/l2.conf), so a page lost or misplaced (by the MMU, or by a
# migration) changes the sum.
#
# Kernel command line: l2mode=boot writes $MIB MiB once; l2mode=migrate
# writes $ROUNDS sets of $ROUND_MIB MiB, one after the other (the test VM
# migrates the guest while it does), then checks every set again;
# l2mode=bench (`make bench`) is boot with $BENCH_MIB MiB: the test VM
# times its phases from the lines above as they arrive (init.sh,
# bench_qemu): init to "written", to "checksum", to "forks".
# l2mode=pagemap writes one set, reads its first 4 MiB into a process's
# memory (dd's buffer, dd then blocks on a pipe nobody reads), prints the
# GPAs of those pages (from its own /proc/<pid>/pagemap) and of its kernel
# (/proc/iomem), holds them $HOLD s while the test VM looks at them from
# outside (init.sh: qemu_pagemap), then checks the set again.

PATH=/bin
export PATH
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /t
mount -t tmpfs -o size=90% tmpfs /t

MIB=256
ROUNDS=6
ROUND_MIB=32
FORKS=300
BENCH_MIB=64
HOLD=30
# shellcheck disable=SC1091
. /etc/l2.conf

ok=1
mode=boot
read -r cmdline </proc/cmdline
for a in $cmdline; do
	case "$a" in l2mode=*) mode=${a#l2mode=} ;; esac
done

up() { # seconds since the L2 kernel booted
	read -r _u _ </proc/uptime
	echo "$_u"
}

# gen <tag> <MiB> <file>: the data set <tag> (initramfs.sh: l2_sum)
gen() {
	_i=0
	{
		while [ $_i -lt "$2" ]; do
			echo "$1 chunk $_i"
			cat /blk
			_i=$((_i + 1))
			[ $((_i % 64)) = 0 ] && echo "l2: $1 $_i MiB written at $(up) s" >&2
		done
	} >"$3"
}

# verify <tag> <file> <md5>
verify() {
	_s=$(md5sum <"$2")
	_s=${_s%% *}
	if [ "$_s" = "$3" ]; then
		echo "l2: checksum $1 $_s ok at $(up) s"
	else
		echo "l2: checksum $1 $_s FAIL want $3"
		ok=0
	fi
}

# expect <tag>: the md5 /etc/l2.conf holds for it (SUM_<tag>)
expect() {
	eval "echo \${SUM_$1:-none}"
}

# forks: $FORKS fork+exec of a real binary (a path: ash cannot run it as a
# builtin), counted by the kernel's own process counter
forks() {
	_p0=$(awk '/^processes/ { print $2 }' /proc/stat)
	_i=0
	while [ $_i -lt $FORKS ]; do
		/bin/busybox true || ok=0
		_i=$((_i + 1))
	done
	_p1=$(awk '/^processes/ { print $2 }' /proc/stat)
	if [ $((_p1 - _p0)) -ge "$FORKS" ]; then
		echo "l2: forks $((_p1 - _p0)) ok"
	else
		echo "l2: forks $((_p1 - _p0)) FAIL want $FORKS"
		ok=0
	fi
}

# data_gpas <pid>: the GPA runs of <pid>'s biggest anonymous mapping's
# present pages, in virtual order (the pagemap entry: PFN in bits 0-54,
# bit 63 present), at most 4 runs
data_gpas() {
	_best=0 _bs=0
	while read -r _r _perm _off _dev _ino _name; do
		if [ "$_perm" != rw-p ] || [ "$_ino" != 0 ] || [ -n "$_name" ]; then
			continue
		fi
		_s=$((0x${_r%-*}))
		_z=$((0x${_r#*-} - _s))
		[ "$_z" -gt "$_best" ] && _best=$_z _bs=$_s
	done <"/proc/$1/maps"
	_start='' _n=0 _next='' _runs=0
	for _e in $(dd if="/proc/$1/pagemap" bs=8 skip=$((_bs / 4096)) \
		count=$((_best / 4096)) 2>/dev/null | od -An -v -t x8); do
		[ $(((0x$_e >> 63) & 1)) = 1 ] || continue
		_pfn=$((0x$_e & ((1 << 55) - 1)))
		if [ "$_pfn" = "$_next" ]; then
			_n=$((_n + 1))
		else
			[ -n "$_start" ] && printf 'l2: data gpa 0x%x pages %d\n' $((_start * 4096)) $_n
			_runs=$((_runs + 1))
			[ $_runs -gt 4 ] && return 0
			_start=$_pfn _n=1
		fi
		_next=$((_pfn + 1))
	done
	[ -n "$_start" ] && printf 'l2: data gpa 0x%x pages %d\n' $((_start * 4096)) $_n
	return 0
}

echo "l2: init mode=$mode"
case "$mode" in
boot)
	gen boot "$MIB" /t/data
	verify boot /t/data "$(expect boot)"
	forks
	;;
bench)
	gen bench "$BENCH_MIB" /t/data
	verify bench /t/data "$(expect bench)"
	forks
	;;
migrate)
	r=1
	while [ $r -le $ROUNDS ]; do
		gen r$r "$ROUND_MIB" /t/r$r
		verify r$r /t/r$r "$(expect r$r)"
		echo "l2: round $r done"
		r=$((r + 1))
	done
	# every set again: those written before the migration were copied
	r=1
	while [ $r -le $ROUNDS ]; do
		verify final-r$r /t/r$r "$(expect r$r)"
		r=$((r + 1))
	done
	forks
	;;
pagemap)
	gen r1 "$ROUND_MIB" /t/r1
	verify r1 /t/r1 "$(expect r1)"
	# where the kernel was loaded (KASLR moves it)
	sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : Kernel code$/l2: kernel gpa 0x\1-0x\2/p' /proc/iomem
	# shellcheck disable=SC2216 # nobody reads: dd blocks, its buffer full
	dd if=/t/r1 bs=4M count=1 2>/dev/null | sleep 3600 &
	hold=$!
	dd=
	_i=0
	while [ $_i -lt 30 ]; do
		dd=$(pidof dd)
		# blocked writing: its read is done (pipe_write; anon_pipe_write later)
		case "$(cat "/proc/${dd:-0}/wchan" 2>/dev/null)" in *pipe_write) break ;; esac
		sleep 1
		_i=$((_i + 1))
	done
	if [ -n "$dd" ]; then
		data_gpas "$dd"
		echo "l2: data held"
		sleep "$HOLD"
	else
		echo "l2: data FAIL: no dd holding the data"
		ok=0
	fi
	kill "$hold" "$dd" 2>/dev/null
	verify final-r1 /t/r1 "$(expect r1)"
	forks
	;;
*)
	echo "l2: unknown l2mode '$mode'"
	ok=0
	;;
esac
if [ $ok = 1 ]; then
	echo "KVMMU-L2-DONE ok"
else
	echo "KVMMU-L2-DONE FAIL"
fi
poweroff -f
sleep 5
