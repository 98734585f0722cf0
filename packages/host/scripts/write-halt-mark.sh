#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-write-halt-mark MARK: writes the operator's halt mark $TITAN_STATE/halted (MARK, one JSON
# line), atomically.
set -eu
mkdir -p "$TITAN_STATE"
printf '%s\n' "$1" > "$TITAN_STATE/halted.tmp"
mv -f "$TITAN_STATE/halted.tmp" "$TITAN_STATE/halted"
