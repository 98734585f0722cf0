#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-remove-partial PARTIAL: removes the upload folder $TITAN_RELEASES/PARTIAL (read-only or not).
set -eu
chmod -R u+w -- "$TITAN_RELEASES/$1" 2> /dev/null || true
rm -rf -- "${TITAN_RELEASES:?}/$1"
