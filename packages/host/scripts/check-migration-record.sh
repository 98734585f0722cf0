#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-check-migration-record NAME SERVICE ROLE DATABASE TABLE COMPOSE...: the history row of the
# migration NAME in TABLE, read back after its apply: the record `recorded SHA256 RELEASE`, or
# nothing when there is none.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
name=$1
service=$2
role=$3
db=$4
table=$5
shift 5
row=$(printf '%s\n' "SELECT sha256 || ' ' || release FROM :\"titan_table\" WHERE file = :'titan_file';" |
  "$@" exec -T "$service" psql -X -q -A -t -v ON_ERROR_STOP=1 -U "$role" -d "$db" -v "titan_table=$table" -v "titan_file=$name")
if [ -n "$row" ]; then
  # shellcheck disable=SC2086 # the row's two words
  record recorded $row
fi
