# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# lib.sh: helpers shared by the tests/vm scripts (sourced, not run).
# Paths, logging to stderr (stdout of some scripts is machine-read), and
# installing missing Debian packages on a fresh CI machine.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMDIR="$REPO/tests/vm"
# KVMMU_BUILD moves the per-run output (default build/, git-ignored)
BUILD="${KVMMU_BUILD:-$REPO/build}"
CACHE="${KVMMU_CACHE:-$HOME/.cache/kvmmu}"
export REPO VMDIR BUILD CACHE

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ensure_pkgs PKG...: apt-get install the packages that are not installed.
# apt-get update runs at most once per machine boot-ish (stamp in /tmp) so
# parallel scripts do not each refresh the lists.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	(
		flock 9
		if [ ! -e /tmp/.kvmmu-apt-updated ]; then
			apt-get update >&2
			touch /tmp/.kvmmu-apt-updated
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
	) 9>/tmp/.kvmmu-apt.lock
}

# Kernels the harness knows.
valid_kernel() {
	case "$1" in
	stock61 | stock612 | debug) return 0 ;;
	*) return 1 ;;
	esac
}
