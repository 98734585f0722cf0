#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-guard RELEASE PREVIOUS TIMEOUT SESSION REVERT VERIFY: the commit-confirmed guard of RELEASE,
# run detached on the host (setsid, not tied to any SSH session; start-guard.sh starts it). It
# records itself in $TITAN_STATE/guard-RELEASE.json and waits for $TITAN_STATE/RELEASE.confirmed. It
# acts when the deploy that started it is gone without confirming (the holder file no longer names
# its lock SESSION token: the runner was killed, cancelled, or lost its heartbeat) or when TIMEOUT
# seconds passed; then it takes the deploy lock (waiting for a live holder, ending one whose
# heartbeats stopped) and runs the return plan (REVERT, revert.sh, with the host's check of a
# release bundle VERIFY, check-bundle.sh's text).
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/take-lock.sh
. "$TITAN_HOST_LIB/take-lock.sh"
# shellcheck source=lib/end-work.sh
. "$TITAN_HOST_LIB/end-work.sh"
release=$1
previous=$2
timeout=$3
session=$4
revert=$5
verify=$6
mkdir -p "$TITAN_STATE"
guard_record="$TITAN_STATE/$STATE_GUARD_PREFIX$release.json"
started=$(date +%s)
deadline=$((started + timeout))
printf '{"release":"%s","previous":"%s","pid":%s,"startedAt":%s,"deadline":%s,"session":"%s"}\n' "$release" "$previous" "$$" "$started" "$deadline" "$session" > "$guard_record.tmp"
mv -f "$guard_record.tmp" "$guard_record"
stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
echo "guard: $(stamp) waiting up to $timeout s for $release to be confirmed"
why=''
while :; do
  if [ -e "$TITAN_STATE/$release$STATE_CONFIRMED_SUFFIX" ]; then
    echo "guard: $release confirmed"
    rm -f "$guard_record"
    exit 0
  fi
  if [ ! -e "$guard_record" ]; then
    echo "guard: stopped"
    exit 0
  fi
  # The deploy that started this guard holds the lock until it ends: once the holder file no longer
  # names its session, it is gone (released, killed, cancelled, or ended by the host for silence).
  if [ -n "$session" ] && ! grep -q "\"token\":\"$session\"" "$holder_file" 2> /dev/null; then
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
  if [ ! -e "$guard_record" ] || [ -e "$TITAN_STATE/$release$STATE_CONFIRMED_SUFFIX" ]; then
    echo "guard: stopped while waiting for the deploy lock"
    exit 0
  fi
  echo "guard: $(stamp) still waiting for the deploy lock, held by $(cat "$holder_file" 2> /dev/null || echo 'a holder without a holder file')"
done
printf '{"pid":%s,"pgid":%s,"since":"%s","heartbeatTimeout":0,"runUrl":"","release":"guard of %s","actor":"titan-guard"}\n' "$$" "$$" "$(stamp)" "$release" > "$holder_file"
end_work ''
status=0
sh -c "$revert" titan-revert "$release" guard "\"$why\"" "$verify" || status=$?
rm -f "$guard_record" "$holder_file"
echo "guard: $(stamp) done (status $status)"
exit "$status"
