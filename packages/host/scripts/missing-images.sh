#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-missing-images IMAGE...: the image references (`repository@sha256:...`) the engine does not
# have, each as the record `missing IMAGE`. Read-only.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
if docker image inspect --format '{{.Id}}' "$@" > /dev/null 2>&1; then
  exit 0
fi
for ref in "$@"; do
  if ! docker image inspect --format '{{.Id}}' "$ref" > /dev/null 2>&1; then
    record missing "$ref"
  fi
done
