#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-verify-release RELEASE: the installed release folder verified again in place, changing
# nothing (lib/verify.sh; check-bundle.sh's text on stdin). Exit
# EXIT_NOT_VERIFIED with its reason on stderr when it does not verify.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/verify.sh
. "$TITAN_HOST_LIB/verify.sh"
verify=$(cat)
verify_into_record "$verify" "$TITAN_RELEASES/$1" "$1"
