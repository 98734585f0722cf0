/**
 * The host side of commit-confirmed, as POSIX sh. Every value reaches these scripts as a positional
 * argument; release ids, service names and compose file paths are checked against the release
 * package's patterns before they are sent, and JSON fragments are made by the runner's JSON encoder.
 *
 * REVERT_SCRIPT: under the deploy lock (the caller holds it), return from an unconfirmed or failed
 * release to the previous one: stop the services that changed, flip `current` back atomically, start
 * the previous release with Compose, mark the release bad, and (when given a result) append a
 * journal line. It does nothing if the release was confirmed meanwhile or `current` moved on.
 *
 * GUARD_SCRIPT: runs detached on the host (setsid, not tied to any SSH session). It records itself in
 * state/guard-<id>.json, waits for state/<id>.confirmed until its deadline, and if none came, takes
 * the deploy lock (waiting for whoever holds it) and runs REVERT_SCRIPT.
 *
 * START_GUARD_SCRIPT launches GUARD_SCRIPT with setsid -f and waits until it has recorded itself.
 * CONFIRM_SCRIPT writes the confirmation, clears a bad mark, records the mode and stops the guard.
 * The bad mark's format is release-marks.ts's (MARK_BAD_PART), shared with markReleaseBad.
 */
import { MARK_BAD_PART } from './release-marks.js';

export const GUARD_SCRIPT_NAME = 'titan-guard';
export const REVERT_SCRIPT_NAME = 'titan-revert';
export const START_GUARD_SCRIPT_NAME = 'titan-start-guard';
export const CONFIRM_SCRIPT_NAME = 'titan-confirm';
export const STOP_GUARD_SCRIPT_NAME = 'titan-stop-guard';

// $1 app dir, $2 project, $3 release to leave, $4 previous release ('' = none: stop everything and
// remove current), $5 TITAN_MODE to start the previous release with, $6 journal result ('' = no
// journal line), $7 reason (a JSON string literal), $8 services to stop first (space-separated),
// $9 journal base (a JSON object literal: actor, runUrl, ...), then the previous release's compose
// files, relative to the release folder, in -f order.
export const REVERT_SCRIPT = `set -eu
app=$1
project=$2
release=$3
previous=$4
mode=$5
result=$6
reason=$7
stop_list=$8
journal_base=$9
shift 9
cd "$app"
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
if [ -e "state/$release.confirmed" ]; then
  echo "revert: $release was confirmed meanwhile; nothing to do"
  exit 0
fi
if [ "$(readlink current 2>/dev/null || true)" != "releases/$release" ]; then
  echo "revert: current no longer points at $release; nothing to do"
  exit 0
fi
mkdir -p state
stop_service() {
  ids=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1")
  for id in $ids; do
    docker stop "$id" > /dev/null
  done
}
for service in $stop_list; do
  echo "revert: stopping $service"
  stop_service "$service"
done
if [ -n "$previous" ]; then
  [ -d "releases/$previous" ] || { echo "revert: releases/$previous is gone; cannot return to it" >&2; exit 1; }
  ln -s "releases/$previous" "current.tmp-$$"
  mv -T "current.tmp-$$" current
  echo "revert: current -> releases/$previous"
  count=$#
  for file in "$@"; do
    set -- "$@" -f "$app/current/$file"
  done
  shift "$count"
  env TITAN_MODE="$mode" docker compose -p "$project" --project-directory "$app/current" "$@" --env-file "$app/shared/.env.prod" up -d --remove-orphans
  printf '%s\\n' "$mode" > state/mode.tmp
  mv -f state/mode.tmp state/mode
else
  ids=$(docker ps -q --filter "label=com.docker.compose.project=$project")
  for id in $ids; do
    docker stop "$id" > /dev/null
  done
  rm -f current
  echo "revert: no previous release; stopped project $project and removed current"
fi
${MARK_BAD_PART}echo "revert: marked $release bad"
if [ -n "$result" ]; then
  printf '{"time":"%s","result":"%s","release":"%s","previous":"%s","mode":"%s","reason":%s,%s\\n' \\
    "$(now)" "$result" "$release" "$previous" "$mode" "$reason" "\${journal_base#?}" >> journal.jsonl
fi
`;

// $1 app dir, $2 release, $3 previous, $4 seconds to wait for the confirmation, $5 REVERT_SCRIPT,
// then REVERT_SCRIPT's own arguments.
export const GUARD_SCRIPT = `set -eu
app=$1
release=$2
previous=$3
timeout=$4
revert=$5
shift 5
cd "$app"
mkdir -p state
record="state/guard-$release.json"
started=$(date +%s)
deadline=$((started + timeout))
printf '{"release":"%s","previous":"%s","pid":%s,"startedAt":%s,"deadline":%s}\\n' "$release" "$previous" "$$" "$started" "$deadline" > "$record.tmp"
mv -f "$record.tmp" "$record"
echo "guard: $(date -u +%Y-%m-%dT%H:%M:%SZ) waiting $timeout s for $release to be confirmed"
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -e "state/$release.confirmed" ]; then
    echo "guard: $release confirmed"
    rm -f "$record"
    exit 0
  fi
  if [ ! -e "$record" ]; then
    echo "guard: stopped"
    exit 0
  fi
  sleep 1
done
echo "guard: $(date -u +%Y-%m-%dT%H:%M:%SZ) $release not confirmed in time; waiting for the deploy lock"
status=0
flock "$app/.deploy.lock" sh -c "$revert" ${REVERT_SCRIPT_NAME} "$@" || status=$?
rm -f "$record"
echo "guard: $(date -u +%Y-%m-%dT%H:%M:%SZ) done (status $status)"
exit "$status"
`;

// $1 GUARD_SCRIPT, then GUARD_SCRIPT's arguments ($2 app dir, $3 release, ...). Prints the guard's record.
export const START_GUARD_SCRIPT = `set -eu
guard=$1
shift
app=$1
release=$2
mkdir -p "$app/state"
rm -f "$app/state/$release.confirmed" "$app/state/guard-$release.json"
setsid -f sh -c "$guard" ${GUARD_SCRIPT_NAME} "$@" < /dev/null >> "$app/state/guard-$release.log" 2>&1
i=0
while [ ! -s "$app/state/guard-$release.json" ]; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "the guard did not start; see $app/state/guard-$release.log" >&2
    exit 1
  fi
  sleep 0.05
done
cat "$app/state/guard-$release.json"
`;

// Stops the guard of $release (in $app/state): removes its record (the guard stops at its next
// look) and sends its process SIGTERM. Shared by STOP_GUARD_SCRIPT and CONFIRM_SCRIPT.
const STOP_GUARD_PART = `record="state/guard-$release.json"
if [ -f "$record" ]; then
  pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' "$record")
  rm -f "$record"
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\\0' ' ' < "/proc/$pid/cmdline" | grep -q ${GUARD_SCRIPT_NAME}; then
    kill "$pid" 2> /dev/null || true
    echo "stopped guard $pid"
  fi
fi
`;

// $1 app dir, $2 release.
export const STOP_GUARD_SCRIPT = `set -eu
app=$1
release=$2
cd "$app"
${STOP_GUARD_PART}`;

// $1 app dir, $2 release, $3 confirmation (a JSON object literal), $4 TITAN_MODE the stack runs with.
export const CONFIRM_SCRIPT = `set -eu
app=$1
release=$2
confirmation=$3
mode=$4
cd "$app"
mkdir -p state
printf '%s\\n' "$confirmation" > "state/$release.confirmed.tmp"
mv -f "state/$release.confirmed.tmp" "state/$release.confirmed"
rm -f "state/$release.bad"
printf '%s\\n' "$mode" > state/mode.tmp
mv -f state/mode.tmp state/mode
${STOP_GUARD_PART}`;
