#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-lift-halt-mark NONCE: lifts the halt mark with that nonce ('' for a mark without one).
# When another (newer) mark is there instead, it stands: the record `halt-stands MARK`, exit
# EXIT_HALT_STANDS (an answer, not a failure).
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
mark="$STATE_HALTED"
[ -f "$mark" ] || exit 0
if [ -n "$1" ] && grep -q "\"nonce\":\"$1\"" "$mark"; then
  rm -f "$mark"
  exit 0
fi
if [ -z "$1" ] && ! grep -q '"nonce":"[0-9a-f]' "$mark"; then
  rm -f "$mark"
  exit 0
fi
record halt-stands "$(head -n 1 "$mark")"
exit "$EXIT_HALT_STANDS"
