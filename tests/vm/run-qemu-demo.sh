#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-qemu-demo.sh: `make run-qemu`. Boot a test VM of $KERNEL (default
# stock612) with kvmmu loaded as kvm.ko (/dev/kvm), start Debian's QEMU on
# it with the harness's L2 guest (Linux 6.12, l2mode=pagemap), pause it once
# the guest holds its data, and print the guest's GPA -> HVA -> HPA chain
# as tools/gpa-pagemap shows it: the first MiB, the guest kernel, the data.
# Then the guest runs on to its marker. The same steps are the check
# kvmmu.qemu_pagemap (init.sh: qemu_pagemap); this prints what that check
# wrote to the result port. Exit status 0 when every case passed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ensure_pkgs qemu-system-x86 seabios busybox-static cpio gcc make libc6-dev
k=${KERNEL:-stock612}
valid_kernel "$k" || die "KERNEL must be stock61, stock612 or debug"
"$VMDIR/kernel.sh" "$k" >/dev/null
"$VMDIR/build-module.sh" "$k" >&2
make -s -C "$REPO/tools" OUT="$BUILD/demo"
# The guest holds its data within a minute or two; a hung guest (seen on
# kvmmu, Documentation/qemu.rst) is reported after 5 minutes.
"$VMDIR/initramfs.sh" "$k" "$BUILD/$k/qemu-demo.cpio.gz" --mode qemu-demo --tests "$BUILD/demo" \
	--timeout 300
out="$BUILD/$k/qemu-demo"
"$VMDIR/run-qemu.sh" "$k" "$BUILD/$k/qemu-demo.cpio.gz" "$out" --timeout 900 || true
tr -d '\r' <"$out/results.log" | sed 's/^kvmmu-harness: //'
if grep -q '^kvmmu-harness: check .* FAIL' "$out/results.log" ||
	! grep -q '^kvmmu-harness: check kvmmu.qemu_pagemap ok content' "$out/results.log"; then
	log "$k: the demo failed; console: $out/console.log"
	exit 1
fi
