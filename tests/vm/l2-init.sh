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
