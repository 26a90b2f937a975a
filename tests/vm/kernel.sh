#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel.sh <stock61|stock612|debug>: make sure a test kernel is ready and
# print shell assignments KVER= KIMG= KMODS= KDIR= for it, so that other
# scripts can `eval "$(tests/vm/kernel.sh stock612)"`.
#
# stock61/stock612 are Debian's own kernel images (dpkg -x'd into the cache,
# never installed) with their installed header packages as KDIR. debug is
# built from linux-source-6.12 with tests/vm/debug.config on top of
# tinyconfig. Everything big lives in $KVMMU_CACHE, keyed by package version
# (and config hash for debug); a flock serialises concurrent callers.
# Only the assignments go to stdout; progress goes to stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

name=${1:-}
valid_kernel "$name" || die "usage: kernel.sh stock61|stock612|debug"
mkdir -p "$CACHE"

# Bump when the debug recipe changes in a way the config hash cannot see.
DEBUG_RECIPE=1

# fetch_image PKG DEST: download a .deb with apt-get and unpack it.
fetch_image() {
	local pkg=$1 dest=$2 tmp
	[ -e "$dest/.ready" ] && return 0
	# make check's two lanes may both want it (the L2 guest's kernel).
	exec 9>"$dest.lock"
	flock 9
	if [ -e "$dest/.ready" ]; then
		exec 9>&-
		return 0
	fi
	log "fetching $pkg"
	rm -rf "$dest"
	tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
	(cd "$tmp" && apt-get -o APT::Sandbox::User=root download "$pkg" >&2) ||
		{ apt-get update >&2 && (cd "$tmp" && apt-get -o APT::Sandbox::User=root download "$pkg" >&2); }
	mkdir -p "$dest"
	dpkg -x "$tmp"/*.deb "$dest"
	rm -rf "$tmp"
	touch "$dest/.ready"
	exec 9>&-
}

stock61() {
	ensure_pkgs linux-headers-amd64
	local ver
	ver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
		grep -o 'linux-headers-[^ ,]*' | head -n1)
	ver=${ver#linux-headers-}
	[ -n "$ver" ] || die "cannot find the 6.1 version from linux-headers-amd64"
	local dest="$CACHE/stock61-$ver"
	fetch_image "linux-image-$ver" "$dest"
	KVER=$ver
	KIMG="$dest/boot/vmlinuz-$ver"
	KMODS="$dest/lib/modules/$ver"
	KDIR="/usr/src/linux-headers-$ver"
}

stock612() {
	local pkg ver
	pkg=$(apt-cache pkgnames linux-image-6.12. |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' | sort -V | tail -n1 || true)
	if [ -z "$pkg" ]; then
		apt-get update >&2
		pkg=$(apt-cache pkgnames linux-image-6.12. |
			grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' | sort -V | tail -n1 || true)
	fi
	[ -n "$pkg" ] || die "no linux-image-6.12.*+deb12-amd64-unsigned in apt"
	ver=${pkg#linux-image-}
	ver=${ver%-unsigned}
	ensure_pkgs "linux-headers-$ver"
	local dest="$CACHE/stock612-$ver"
	fetch_image "$pkg" "$dest"
	KVER=$ver
	KIMG="$dest/boot/vmlinuz-$ver"
	KMODS="$dest/lib/modules/$ver"
	KDIR="/usr/src/linux-headers-$ver"
}

# check_config CONFIG FRAGMENT: every "CONFIG_X=val" and "# CONFIG_X is not
# set" line of the fragment must hold in the final .config.
check_config() {
	local cfg=$1 frag=$2 line opt bad=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$cfg" || bad+=("$line")
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$cfg" && bad+=("$line")
			;;
		esac
	done <"$frag"
	if [ ${#bad[@]} -gt 0 ]; then
		log "these wanted options did not survive olddefconfig:"
		printf '  %s\n' "${bad[@]}" >&2
		return 1
	fi
}

debug() {
	ensure_pkgs linux-source-6.12 build-essential flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	local srcver hash dest tarball=/usr/src/linux-source-6.12.tar.xz
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
	hash=$({ cat "$VMDIR/debug.config"; echo "recipe=$DEBUG_RECIPE"; } | sha256sum | cut -c1-12)
	dest="$CACHE/debug-$srcver-$hash"
	if [ ! -e "$dest/.ready" ]; then
		exec 8>"$CACHE/debug.lock"
		flock 8
	fi
	if [ ! -e "$dest/.ready" ]; then
		local t0=$SECONDS jobs=${KVMMU_JOBS:-$(nproc)}
		log "building debug kernel in $dest (-j$jobs); this takes a while"
		if [ ! -e "$dest/src/.unpacked" ]; then
			rm -rf "$dest"
			mkdir -p "$dest/src"
			tar -xJf "$tarball" -C "$dest/src" --strip-components=1
			touch "$dest/src/.unpacked"
		fi
		local src="$dest/src"
		if [ ! -e "$src/.config-ok" ]; then
			make -C "$src" ARCH=x86_64 tinyconfig >&2
			(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$VMDIR/debug.config" >&2)
			make -C "$src" ARCH=x86_64 olddefconfig >&2
			check_config "$src/.config" "$VMDIR/debug.config" ||
				die "debug kernel config is missing wanted options (see above)"
			touch "$src/.config-ok"
		fi
		make -C "$src" ARCH=x86_64 -j"$jobs" bzImage modules >&2
		rm -rf "$dest/staging"
		make -C "$src" ARCH=x86_64 INSTALL_MOD_PATH="$dest/staging" \
			DEPMOD=/sbin/depmod modules_install >&2
		make -s -C "$src" ARCH=x86_64 kernelrelease >"$dest/kernelrelease"
		log "debug kernel built in $((SECONDS - t0)) s"
		echo "$((SECONDS - t0))" >"$dest/build-seconds"
		touch "$dest/.ready"
		# older debug builds are dead weight (a few GB each)
		find "$CACHE" -maxdepth 1 -type d -name 'debug-*-*' ! -path "$dest" -exec rm -rf {} +
	fi
	KVER=$(cat "$dest/kernelrelease")
	KIMG="$dest/src/arch/x86/boot/bzImage"
	KMODS="$dest/staging/lib/modules/$KVER"
	KDIR="$dest/src"
}

"$name"
for f in "$KIMG" "$KMODS" "$KDIR/Makefile"; do
	[ -e "$f" ] || die "$name: missing $f"
done
printf 'KVER=%q\nKIMG=%q\nKMODS=%q\nKDIR=%q\n' "$KVER" "$KIMG" "$KMODS" "$KDIR"
