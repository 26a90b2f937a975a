#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-demo.sh: `make run`. Boot a test VM of $KERNEL (default stock612) with
# kvmmu.ko loaded and run tools/kvmmu-demo: it registers GPA 0xa000 backed
# by a host buffer, runs a real-mode guest that writes there, and prints the
# debugfs view of the chain GPA -> HVA (memslots) -> HPA (mappings). The
# console is printed to the terminal; the VM ends by itself.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ensure_pkgs qemu-system-x86 busybox-static cpio gcc make libc6-dev
k=${KERNEL:-stock612}
valid_kernel "$k" || die "KERNEL must be stock61, stock612 or debug"
"$VMDIR/kernel.sh" "$k" >/dev/null
"$VMDIR/build-module.sh" "$k" >&2
make -s -C "$REPO/tools" OUT="$BUILD/demo"
"$VMDIR/initramfs.sh" "$k" "$BUILD/$k/demo.cpio.gz" --mode demo --tests "$BUILD/demo"
"$VMDIR/run-qemu.sh" "$k" "$BUILD/$k/demo.cpio.gz" "$BUILD/$k/demo" --timeout 300 || true
grep -a -A200 '=== kvmmu demo' "$BUILD/$k/demo/console.log" | grep -av '^\[' | tr -d '\r'
grep -aq '=== demo exit status 0' "$BUILD/$k/demo/console.log"
