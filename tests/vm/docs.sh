#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# docs.sh: check every reStructuredText file under Documentation/ with
# docutils, halting on the first warning (broken markup renders silently
# wrong otherwise). Prints one `ok|FAIL docs/<file>` line per file; exits 1
# if any failed. No docs at all is not an error.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ensure_pkgs python3-docutils
cd "$REPO"
rc=0
mkdir -p "$BUILD/docs"
while IFS= read -r f; do
	logf="$BUILD/docs/$(basename "$f").log"
	if python3 -m docutils --halt=warning --report=warning "$f" /dev/null >"$logf" 2>&1; then
		echo "ok docs/$f"
	else
		echo "FAIL docs/$f"
		sed 's/^/    /' "$logf" | head -n 20
		rc=1
	fi
done < <(find Documentation -name '*.rst' 2>/dev/null | LC_ALL=C sort)
exit $rc
