#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-read-release-files RELEASE PATH...: the files PATH of the installed release RELEASE, each
# as the record `file PATH BASE64` (its bytes in base64 on the record's line) or `missing PATH`.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
dir="$TITAN_RELEASES/$1"
shift
for path in "$@"; do
  if [ -f "$dir/$path" ]; then
    record file "$path" "$(base64 -w 0 < "$dir/$path")"
  else
    record missing "$path"
  fi
done
