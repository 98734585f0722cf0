/**
 * The host side of commit-confirmed, as POSIX sh. Every value reaches these scripts as a positional
 * argument or a line of the guard's plan file; release ids, service names and compose file paths
 * are checked against the release package's patterns before they are sent, and JSON fragments are
 * made by the runner's JSON encoder (one line each).
 *
 * A deploy starts its guard BEFORE it changes the running stack (before the first stop, migration,
 * switch or start) and the guard lives until the deploy confirms. The plan (state/guard-<id>.plan,
 * one value a line) says how to return: the project, the previous release, the mode to start it
 * with, the services to stop first, the services an operator's halt keeps stopped, the journal
 * fields and the previous release's compose files.
 *
 * REVERT_SCRIPT runs the plan, under the deploy lock (the caller holds it), from whatever state the
 * deploy left: `current` on the new release -> stop what changed, flip `current` back atomically,
 * start the previous release, mark the new one bad (`reverted`), the previous release verified
 * again on the host first (one that no longer verifies is not returned to: `refused`, exit 1, the
 * new release left current and nothing stopped); the same release deployed again
 * (e.g. DISARMED -> ARMED) -> stop what changed and start it again DISARMED (`returned`); `current`
 * still on the previous release (the switch did not happen) -> start again, as they were, the
 * services the deploy stopped (`restored`). Under an operator's halt (state/halted) the held
 * services are never started. It does nothing if the release was confirmed meanwhile or `current`
 * moved on. It prints `outcome <what it did>` last.
 *
 * GUARD_SCRIPT runs detached on the host (setsid, not tied to any SSH session). It records itself in
 * state/guard-<id>.json and waits for state/<id>.confirmed. It acts when the deploy that started it
 * is gone without confirming (its lock holder process ended: the runner was killed, cancelled, or
 * lost its heartbeat) or when confirm-timeout passed; then it takes the deploy lock (waiting for a
 * live holder, ending one whose heartbeats stopped) and runs REVERT_SCRIPT.
 *
 * START_GUARD_SCRIPT writes the plan, launches GUARD_SCRIPT with setsid -f and waits until it has
 * recorded itself. CONFIRM_SCRIPT writes the confirmation, clears a bad mark, records the mode and
 * stops the guard. The bad mark's format is release-marks.ts's (MARK_BAD_PART).
 */
import { HOST_VERIFY_SCRIPT } from '@titan/release/host-verify-script';
import { MARK_BAD_PART } from './release-marks.js';
import { END_WORK_PART, GUARD_PROCESS_NAME, TAKE_LOCK_PART } from './session-lock-script.js';

export const GUARD_SCRIPT_NAME = GUARD_PROCESS_NAME;
export const REVERT_SCRIPT_NAME = 'titan-revert';
export const START_GUARD_SCRIPT_NAME = 'titan-start-guard';
export const CONFIRM_SCRIPT_NAME = 'titan-confirm';
export const STOP_GUARD_SCRIPT_NAME = 'titan-stop-guard';

// $1 app dir, $2 release to leave, $3 who runs it for the journal ('' = no journal line; guard,
// recovery), $4 reason (a JSON string literal). The plan file state/guard-$2.plan holds: project,
// previous release ('' = none), TITAN_MODE to start with, services to stop first (space-separated),
// services a halt keeps stopped (space-separated), journal fields (a JSON object literal), then the
// previous release's compose files relative to its folder, in -f order.
export const REVERT_SCRIPT = `set -eu
app=$1
release=$2
by=$3
reason=$4
cd "$app"
plan="state/guard-$release.plan"
if [ ! -f "$plan" ]; then
  echo "revert: no plan for $release ($plan); nothing to do"
  echo "outcome nothing"
  exit 0
fi
set --
while IFS= read -r value; do set -- "$@" "$value"; done < "$plan"
project=$1
previous=$2
mode=$3
stop_list=$4
held=$5
journal_base=$6
shift 6
set -f
files=''
for file in "$@"; do files="$files -f $app/current/$file"; done
compose() {
  # shellcheck disable=SC2086 # one word per -f and per file: bundle paths and the app dir hold no blanks
  env TITAN_MODE="$mode" docker compose -p "$project" --project-directory "$app/current" $files --env-file "$app/shared/.env.prod" "$@"
}
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# verify_release ID: the release package's host verification of releases/ID against trust/.
verify_release() {
  sh -s -- "releases/$1" trust "$1" <<'TITAN_VERIFY_RELEASE'
${HOST_VERIFY_SCRIPT}TITAN_VERIFY_RELEASE
}
halted=0
if [ -f state/halted ]; then halted=1; fi
# up_stack FLAGS...: docker compose up -d FLAGS. Under an operator's halt: every service but the held
# ones, without their dependencies (so a held one is never started as one), DISARMED.
up_stack() {
  if [ "$halted" = 1 ]; then
    echo "revert: the host is halted (state/halted): $held stay stopped"
    services=$(compose config --services | awk -v held=" $held " 'index(held, " " $0 " ") == 0' | tr '\\n' ' ')
    # shellcheck disable=SC2086 # one argument per service
    compose up -d --no-deps --remove-orphans $services
  else
    compose up -d "$@"
  fi
}
stop_service() {
  ids=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1")
  for id in $ids; do
    docker stop "$id" > /dev/null
  done
}
record_mode() {
  printf '%s\\n' "$mode" > state/mode.tmp
  mv -f state/mode.tmp state/mode
}
finish() {
  rm -f "$plan"
  if [ -n "$by" ]; then
    printf '{"time":"%s","result":"%s","release":"%s","previous":"%s","mode":"%s","reason":%s,%s\\n' \\
      "$(now)" "$1-by-$by" "$release" "$previous" "$mode" "$reason" "\${journal_base#?}" >> journal.jsonl
  fi
  echo "outcome $1"
}
if [ -e "state/$release.confirmed" ]; then
  echo "revert: $release was confirmed meanwhile; nothing to do"
  rm -f "$plan"
  echo "outcome nothing"
  exit 0
fi
current=$(readlink current 2> /dev/null || true)
if [ "$current" = "releases/$release" ] && [ "$release" = "$previous" ]; then
  echo "revert: $release was deployed again and not confirmed: starting it again $mode"
  for service in $stop_list; do
    echo "revert: stopping $service"
    stop_service "$service"
  done
  up_stack --remove-orphans
  record_mode
  finish returned
elif [ "$current" = "releases/$release" ]; then
  if [ -n "$previous" ]; then
    [ -d "releases/$previous" ] || { echo "revert: releases/$previous is gone; cannot return to it" >&2; exit 1; }
    # The release returned to is verified again before anything stops: nothing starts on the host
    # that it did not verify (a folder altered, or signed by a key revoked since, is not returned to).
    if ! verdict=$(verify_release "$previous" 2>&1); then
      why=$(printf '%s\n' "$verdict" | sed -n 's/^verify-release: //p' | head -n 1)
      echo "revert: releases/$previous no longer verifies against trust/ (\${why:-$verdict}): not returning to it; $release stays current, nothing was stopped" >&2
      escaped=$(printf '%s' "\${why:-verification failed}" | sed 's/[\\\\"]/\\\\&/g')
      reason="\\"releases/$previous no longer verifies: $escaped\\""
      finish refused
      exit 1
    fi
    echo "revert: releases/$previous verified again ($verdict)"
  fi
  for service in $stop_list; do
    echo "revert: stopping $service"
    stop_service "$service"
  done
  if [ -n "$previous" ]; then
    ln -s "releases/$previous" "current.tmp-$$"
    mv -T "current.tmp-$$" current
    echo "revert: current -> releases/$previous"
    up_stack --remove-orphans
    record_mode
  else
    ids=$(docker ps -q --filter "label=com.docker.compose.project=$project")
    for id in $ids; do
      docker stop "$id" > /dev/null
    done
    rm -f current
    echo "revert: no previous release; stopped project $project and removed current"
  fi
  mkdir -p state
${MARK_BAD_PART}  echo "revert: marked $release bad"
  finish reverted
elif [ -n "$previous" ] && [ "$current" = "releases/$previous" ]; then
  echo "revert: current still points at $previous (no switch happened): starting again what the deploy stopped"
  up_stack --no-recreate
  finish restored
else
  echo "revert: current points at \${current:-nothing}, neither $release nor \${previous:-a previous release}; nothing to do"
  rm -f "$plan"
  echo "outcome nothing"
fi
`;

// $1 app dir, $2 release, $3 previous, $4 seconds to wait for the confirmation, $5 the session token
// of the deploy lock held by the deploy that started it ('' when none is known), $6 REVERT_SCRIPT.
export const GUARD_SCRIPT = `set -eu
app=$1
release=$2
previous=$3
timeout=$4
session=$5
revert=$6
cd "$app"
mkdir -p state
record="state/guard-$release.json"
started=$(date +%s)
deadline=$((started + timeout))
printf '{"release":"%s","previous":"%s","pid":%s,"startedAt":%s,"deadline":%s,"session":"%s"}\\n' "$release" "$previous" "$$" "$started" "$deadline" "$session" > "$record.tmp"
mv -f "$record.tmp" "$record"
stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
${TAKE_LOCK_PART}${END_WORK_PART}echo "guard: $(stamp) waiting up to $timeout s for $release to be confirmed"
why=''
while :; do
  if [ -e "state/$release.confirmed" ]; then
    echo "guard: $release confirmed"
    rm -f "$record"
    exit 0
  fi
  if [ ! -e "$record" ]; then
    echo "guard: stopped"
    exit 0
  fi
  # The deploy that started this guard holds the lock until it ends: once the holder file no longer
  # names its session, it is gone (released, killed, cancelled, or ended by the host for silence).
  if [ -n "$session" ] && ! grep -q "\\"token\\":\\"$session\\"" "$holder_file" 2> /dev/null; then
    why="its deploy ended without confirming it"
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    why="not confirmed within $timeout s"
    break
  fi
  sleep 1
done
echo "guard: $(stamp) $release: $why; taking the deploy lock"
until take_lock 30; do
  if [ ! -e "$record" ] || [ -e "state/$release.confirmed" ]; then
    echo "guard: stopped while waiting for the deploy lock"
    exit 0
  fi
  echo "guard: $(stamp) still waiting for the deploy lock, held by $(cat "$holder_file" 2> /dev/null || echo 'a holder without a holder file')"
done
printf '{"pid":%s,"pgid":%s,"since":"%s","heartbeatTimeout":0,"runUrl":"","release":"guard of %s","actor":"${GUARD_PROCESS_NAME}"}\\n' "$$" "$$" "$(stamp)" "$release" > "$holder_file"
end_work ''
status=0
sh -c "$revert" ${REVERT_SCRIPT_NAME} "$app" "$release" guard "\\"$why\\"" || status=$?
rm -f "$record" "$holder_file"
echo "guard: $(stamp) done (status $status)"
exit "$status"
`;

// $1 GUARD_SCRIPT, $2 REVERT_SCRIPT, $3 app dir, $4 release, $5 previous, $6 seconds to wait, then
// the plan's values (written one a line to state/guard-$4.plan). Prints the guard's record.
export const START_GUARD_SCRIPT = `set -eu
guard=$1
revert=$2
app=$3
release=$4
previous=$5
timeout=$6
shift 6
cd "$app"
mkdir -p state
rm -f "state/$release.confirmed" "state/guard-$release.json"
plan="state/guard-$release.plan"
: > "$plan.tmp"
for value in "$@"; do
  printf '%s\\n' "$value" >> "$plan.tmp"
done
mv -f "$plan.tmp" "$plan"
session=$(sed -n 's/.*"token":"\\([0-9a-f]*\\)".*/\\1/p' .deploy.lock.holder 2> /dev/null | head -n 1)
setsid -f sh -c "$guard" ${GUARD_SCRIPT_NAME} "$app" "$release" "$previous" "$timeout" "$session" "$revert" < /dev/null >> "state/guard-$release.log" 2>&1
i=0
while [ ! -s "state/guard-$release.json" ]; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "the guard did not start; see $app/state/guard-$release.log" >&2
    exit 1
  fi
  sleep 0.05
done
cat "state/guard-$release.json"
`;

// Stops the guard of $release (in $app/state): removes its record and plan (the guard stops at its
// next look) and sends its process SIGTERM. Shared by STOP_GUARD_SCRIPT and CONFIRM_SCRIPT. The
// guard removes its own record when it sees the confirmation, so the record may go at any moment:
// one that is gone is a guard that already stopped.
const STOP_GUARD_PART = `record="state/guard-$release.json"
rm -f "state/guard-$release.plan"
if [ -f "$record" ]; then
  pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' "$record" 2> /dev/null || true)
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
