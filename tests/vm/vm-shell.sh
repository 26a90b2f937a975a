#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-shell.sh: `make vm-shell`. Boot the test VM of $KERNEL (default
# stock612) with the same initramfs as `make check`, load kvmmu.ko and drop
# to an interactive busybox shell on the console, for poking at the module
# by hand. Stock kvm stack: /stock (insmod in the order of /stock/order),
# our modules: /kvmmu, test binaries: /tests. Exit the shell (or Ctrl-A X)
# to end the VM.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

k=${KERNEL:-stock612}
valid_kernel "$k" || die "KERNEL must be stock61, stock612 or debug"
"$VMDIR/kernel.sh" "$k" >/dev/null
"$VMDIR/build-module.sh" "$k" || log "module build failed: the shell will have no kvmmu.ko"
ensure_pkgs linux-source-6.12 xz-utils make gcc libc6-dev
make -s -C "$REPO/tests/selftests" OUT="$BUILD/selftests" ||
	log "selftests build failed: /tests may be incomplete"
"$VMDIR/initramfs.sh" "$k" "$BUILD/$k/shell.cpio.gz" --mode shell
exec "$VMDIR/run-qemu.sh" "$k" "$BUILD/$k/shell.cpio.gz" "$BUILD/$k/shell" --shell
