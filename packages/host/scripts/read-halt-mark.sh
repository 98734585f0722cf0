#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-read-halt-mark: the operator's halt mark, as the record `halted MARK` (its first line), or
# nothing when there is none. Read-only.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
mark="$STATE_HALTED"
if [ -f "$mark" ]; then record halted "$(head -n 1 "$mark")"; fi
