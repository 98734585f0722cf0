#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-read-migrations PROJECT SERVICE ROLE DATABASE TABLE WAIT: reads (never writes) the
# migration history TABLE of DATABASE in the project's SERVICE container, as ROLE: one record
# `applied FILE SHA256` per row, none when there is no history table yet. Waits up to WAIT seconds
# for a running container to accept connections, only when the first try fails; a stopped or missing
# container is said at once (exit EXIT_NO_DATABASE).
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
project=$1
service=$2
role=$3
db=$4
table=$5
wait=$6
database_id() {
  docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service" | head -n 1
}
read_history() {
  history=$(docker exec -i "$1" psql -X -q -v ON_ERROR_STOP=1 -A -t -U "$role" -d "$db" -v "titan_table=$table" <<'SQL'
SELECT to_regclass(:'titan_table') IS NOT NULL AS present \gset
\if :present
SELECT file || ' ' || sha256 FROM :"titan_table" ORDER BY file;
\endif
SQL
) || return 1
  printf '%s\n' "$history" | while read -r file sha; do
    [ -n "$file" ] || continue
    record applied "$file" "$sha"
  done
}
id=$(database_id)
if [ -n "$id" ] && read_history "$id" 2> /dev/null; then
  exit 0
fi
if [ -z "$id" ]; then
  if [ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service")" ]; then
    echo "the $service container of project $project is stopped" >&2
  else
    echo "project $project has no $service container" >&2
  fi
  exit "$EXIT_NO_DATABASE"
fi
deadline=$(($(date +%s) + wait))
while :; do
  id=$(database_id)
  if [ -n "$id" ] && docker exec "$id" pg_isready -q -h /var/run/postgresql -U "$role" -d "$db" > /dev/null 2>&1; then
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$service of project $project does not accept connections after $wait s" >&2
    exit 1
  fi
  sleep 1
done
read_history "$id"
