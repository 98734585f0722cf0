#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-read-stack-record PROJECT: the project's containers now (`container ID STATE SERVICE`
# records), the last verified start ($TITAN_STATE/stack-started, written by write-stack-record.sh:
# `recorded release ID`, `recorded mode MODE`, `recorded container ID SERVICE`; its digest of shared/
# stays on the host) and `shared same|changed|no-record`.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/stack-files.sh
. "$TITAN_HOST_LIB/stack-files.sh"
project=$1
stack_record="$STATE_STACK_STARTED"
containers "$project" | while read -r id state service; do record container "$id" "$state" "$service"; done
if [ ! -f "$stack_record" ]; then
  record shared no-record
  exit 0
fi
grep -v '^shared ' "$stack_record" | while read -r key value extra; do record recorded "$key" "$value" ${extra:+"$extra"}; done
if [ "$(sed -n 's/^shared //p' "$stack_record")" = "$(shared_digest)" ]; then record shared same; else record shared changed; fi
