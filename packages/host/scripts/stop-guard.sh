#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-stop-guard RELEASE: stops the guard of RELEASE without confirming it and drops its plan
# (lib/stop-guard.sh); says `guard-stopped PID` when it ended a running guard.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/stop-guard.sh
. "$TITAN_HOST_LIB/stop-guard.sh"
stop_guard "$1"
