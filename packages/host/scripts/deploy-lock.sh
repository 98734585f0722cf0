#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-deploy-lock HOLDER WAIT BEAT_TIMEOUT TOKEN: the host side of the deploy lock (deploy-lock.ts
# is the runner's side), run as one long command of the deploy's SSH connection. HOLDER is the
# runner's holder JSON object (run URL, release, actor), WAIT the seconds to wait for the lock,
# BEAT_TIMEOUT the heartbeat timeout in seconds, TOKEN this session's hex token (names its work).
#
# It takes the flock on $TITAN_LOCK (fd 9, waiting up to WAIT; a holder whose heartbeats stopped
# and that still holds the lock is ended: end_stale_holder), ends in-container work a dead holder
# left ($TITAN_STATE/work-*), writes $TITAN_LOCK_HOLDER and says `lock-acquired`. From then on it
# is the deploy's watchdog on the host. It reads lines on its standard input:
#   beat     the runner is alive (the holder file's modification time is the last heartbeat)
#   abort    the runner was cancelled: end this connection's other commands and the in-container
#            work it registered, then say `lock-aborted` (the lock stays held)
#   release  the runner is done: the lock is free when this script exits
# When no heartbeat came for BEAT_TIMEOUT seconds (a frozen or cut-off runner) or the input ends
# without `release` (a killed runner, a closed session), the deploy is over: the watchdog says why
# (`lock-lost WHY`), ends the connection's other commands (every other child of this connection's
# sshd process, process group by process group), ends the in-container work (a migration's
# database session is terminated, which rolls back its transaction), ends the SSH connection itself
# (so a runner that resumes can change nothing), writes a journal line and only then exits: the lock
# is free once nothing the deploy started still runs. A waiting guard then returns the host to a
# good release (guard.sh). Its words are records (record.sh); exit EXIT_LOCK_BUSY when WAIT passed.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/journal.sh
. "$TITAN_HOST_LIB/journal.sh"
# shellcheck source=lib/take-lock.sh
. "$TITAN_HOST_LIB/take-lock.sh"
# shellcheck source=lib/end-work.sh
. "$TITAN_HOST_LIB/end-work.sh"
# shellcheck source=lib/end-channels.sh
. "$TITAN_HOST_LIB/end-channels.sh"
info=$1
wait=$2
beat_timeout=$3
token=$4
trap '' PIPE
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# This connection's sshd process: the login shell it started exec'd this script.
session=$PPID
status=0
take_lock "$wait" || status=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
# The lock is ours: whatever an earlier holder left running in a container ends first.
end_work '' >&2
flag="$TITAN_LOCK.end-$token"
rm -f "$flag"
umask 022
printf '{"pid":%s,"pgid":%s,"since":"%s","heartbeatTimeout":%s,"token":"%s",%s\n' \
  "$$" "$$" "$(now)" "$beat_timeout" "$token" "${info#?}" > "$holder_file.tmp.$$"
mv -f "$holder_file.tmp.$$" "$holder_file"
record lock-acquired
# The reader of the runner's lines runs in the background; a background list reads /dev/null unless
# told otherwise, so it gets this script's standard input explicitly (fd 3).
exec 3<&0
(
  while IFS= read -r line; do
    case $line in
      beat) touch "$holder_file" ;;
      abort)
        end_channels "$session" > /dev/null 2>&1 || true
        end_work "$token" > /dev/null 2>&1 || true
        record lock-aborted || true
        ;;
      release)
        echo release > "$flag"
        exit 0
        ;;
      *) ;;
    esac
  done
  echo eof > "$flag"
) <&3 &
reader=$!
exec 3<&-
why=''
while [ ! -s "$flag" ]; do
  age=$(($(date +%s) - $(stat -c %Y "$holder_file")))
  if [ "$age" -gt "$beat_timeout" ]; then
    why="no heartbeat from the runner for $age s (heartbeat-timeout $beat_timeout s)"
    break
  fi
  # A fifth of a second: the runner's release frees the lock (and ends its run) that soon.
  sleep 0.2
done
if [ -z "$why" ] && [ "$(cat "$flag")" = release ]; then
  wait "$reader" || true
  rm -f "$holder_file" "$flag"
  exit 0
fi
why=${why:-the SSH session ended without releasing the lock}
# Busy ending the deploy, not stale: waiters wait for this process while it lives.
sed 's/"heartbeatTimeout":[0-9]*/"heartbeatTimeout":0/' "$holder_file" > "$holder_file.tmp.$$" && mv -f "$holder_file.tmp.$$" "$holder_file"
record lock-lost "$why" 2> /dev/null || true
mkdir -p "$TITAN_STATE"
exec >> "$STATE_LOCK_LOG" 2>&1
echo "$(now) lost the runner of $info: $why"
end_channels "$session"
end_work "$token"
kill "$reader" 2> /dev/null || true
# The SSH connection ends too: a runner that resumes finds it gone and can change nothing.
case $(cat "/proc/$session/comm" 2> /dev/null || true) in
  sshd*) kill -TERM "$session" 2> /dev/null || true ;;
  *) ;;
esac
journal lock lost "\"reason\":\"$why\",\"holder\":$info"
rm -f "$holder_file" "$flag"
echo "$(now) released the deploy lock"
