#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-record-mode MODE: records MODE as the TITAN_MODE the stack is started with (lib/mode.sh).
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/mode.sh
. "$TITAN_HOST_LIB/mode.sh"
record_mode "$1"
