#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-append-journal ACTION RESULT FIELDS TIME: one journal line, written by the runner
# (journal.ts) in the format the host's own lines have (lib/journal.sh).
set -eu
# shellcheck source=lib/journal.sh
. "$TITAN_HOST_LIB/journal.sh"
journal "$1" "$2" "$3" "$4"
