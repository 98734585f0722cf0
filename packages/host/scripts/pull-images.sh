#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-pull-images IMAGE...: pulls every image reference by digest, all at once; the record
# `pulled IMAGE` or `pull-failed IMAGE` for each, exit 1 when one failed.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
pids=''
for ref in "$@"; do
  (
    if docker pull -q "$ref" > /dev/null; then
      record pulled "$ref"
    else
      record pull-failed "$ref"
      exit 1
    fi
  ) &
  pids="$pids $!"
done
status=0
for pid in $pids; do
  wait "$pid" || status=1
done
exit "$status"
