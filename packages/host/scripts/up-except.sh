#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-up-except HELD COMPOSE...: every service of the release but the HELD ones (space-separated)
# up, without their dependencies (an operator's halt keeps HELD stopped). COMPOSE is the release's
# docker compose command (env TITAN_MODE=... docker compose -p ... --env-file ...).
set -eu
# shellcheck source=lib/up-all-but.sh
. "$TITAN_HOST_LIB/up-all-but.sh"
up_all_but "$@"
