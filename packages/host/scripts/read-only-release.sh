#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-read-only-release RELEASE: makes an installed release folder read-only (one installed
# before releases were; lib/read-only.sh).
set -eu
# shellcheck source=lib/read-only.sh
. "$TITAN_HOST_LIB/read-only.sh"
read_only "$TITAN_RELEASES/$1"
