#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-confirm RELEASE CONFIRMATION MODE: RELEASE verified after its switch: writes its
# confirmation ($TITAN_STATE/RELEASE.confirmed, CONFIRMATION a JSON object), clears a bad mark,
# records MODE as the mode the stack runs with, and stops the guard (lib/stop-guard.sh).
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/mode.sh
. "$TITAN_HOST_LIB/mode.sh"
# shellcheck source=lib/stop-guard.sh
. "$TITAN_HOST_LIB/stop-guard.sh"
release=$1
mkdir -p "$TITAN_STATE"
printf '%s\n' "$2" > "$TITAN_STATE/$release$STATE_CONFIRMED_SUFFIX.tmp"
mv -f "$TITAN_STATE/$release$STATE_CONFIRMED_SUFFIX.tmp" "$TITAN_STATE/$release$STATE_CONFIRMED_SUFFIX"
rm -f "$TITAN_STATE/$release$STATE_BAD_SUFFIX"
record_mode "$3"
stop_guard "$release"
