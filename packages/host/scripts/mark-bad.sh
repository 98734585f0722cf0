#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-mark-bad RELEASE REASON: marks RELEASE bad (lib/mark-bad.sh; REASON a JSON string literal).
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/mark-bad.sh
. "$TITAN_HOST_LIB/mark-bad.sh"
mark_bad "$1" "$2"
