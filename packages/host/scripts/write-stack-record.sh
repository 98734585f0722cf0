#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-write-stack-record PROJECT RELEASE MODE: records what runs now as the last verified start
# ($TITAN_STATE/stack-started, 0600, written atomically): the release, the mode, one sha256 over
# every file under shared/ (the production values and the secret files) and the id and service of
# every container of the project.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/stack-files.sh
. "$TITAN_HOST_LIB/stack-files.sh"
project=$1
stack_record="$STATE_STACK_STARTED"
mkdir -p "$TITAN_STATE"
{
  printf 'release %s\nmode %s\nshared %s\n' "$2" "$3" "$(shared_digest)"
  containers "$project" | awk '{ print "container " $1 " " $3 }'
} > "$stack_record.tmp"
chmod 0600 "$stack_record.tmp"
mv -f "$stack_record.tmp" "$stack_record"
