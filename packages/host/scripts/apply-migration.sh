#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-apply-migration SQL NAME SHA256 RELEASE SERVICE ROLE DATABASE TABLE WORK APP_NAME COMPOSE...:
# applies the migration file SQL (as the host verified it) in the release's SERVICE container as
# ROLE, in ONE transaction with the INSERT of its history row (NAME, SHA256, RELEASE) into TABLE
# (created when missing, in the same transaction): both commit together or neither does. Values
# reach psql as -v variables, never as SQL text. While it runs, the work record WORK (`<container>
# <role> <database> <application_name>`, see lib/end-work.sh) names its database session APP_NAME,
# so a deploy that is gone has it terminated before its lock is free. COMPOSE is the release's
# docker compose command.
set -eu
sql=$1
name=$2
sha=$3
release=$4
service=$5
role=$6
db=$7
table=$8
work=$9
shift 9
app_name=$1
shift
container=$("$@" ps -q "$service")
mkdir -p "$(dirname "$work")"
printf '%s %s %s %s\n' "$container" "$role" "$db" "$app_name" > "$work.tmp"
mv -f "$work.tmp" "$work"
{
  cat <<'SQL'
SET client_min_messages TO warning;
CREATE TABLE IF NOT EXISTS :"titan_table" (
  file text PRIMARY KEY,
  sha256 char(64) NOT NULL,
  release text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
SQL
  cat "$sql"
  cat <<'SQL'

;
INSERT INTO :"titan_table" (file, sha256, release) VALUES (:'titan_file', :'titan_sha256', :'titan_release');
SQL
} | "$@" exec -T -e "PGAPPNAME=$app_name" "$service" psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U "$role" -d "$db" \
  -v "titan_table=$table" -v "titan_file=$name" -v "titan_sha256=$sha" -v "titan_release=$release"
rm -f "$work"
