#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-write-halt-mark MARK: writes the operator's halt mark $TITAN_STATE/halted (MARK, one JSON
# line), atomically.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
mkdir -p "$TITAN_STATE"
printf '%s\n' "$1" > "$STATE_HALTED.tmp"
mv -f "$STATE_HALTED.tmp" "$STATE_HALTED"
