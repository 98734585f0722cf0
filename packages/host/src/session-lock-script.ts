/**
 * The host side of the deploy lock, as POSIX sh (see deploy-lock.ts for the runner's side).
 *
 * SESSION_LOCK_SCRIPT runs as one long command of the deploy's SSH connection. It takes the flock on
 * `.deploy.lock` (fd 9, waiting up to the lock timeout; a holder whose heartbeats stopped and that
 * still holds the lock is ended: end_stale_holder), ends in-container work a dead holder left
 * (state/work-*), writes `.deploy.lock.holder` and says `titan-deploy-lock-acquired`. From then on it
 * is the deploy's watchdog on the host. It reads lines on its standard input:
 *   beat     the runner is alive (the holder file's modification time is the last heartbeat)
 *   abort    the runner was cancelled: end this connection's other commands and the in-container
 *            work it registered, then say `titan-deploy-lock-aborted` (the lock stays held)
 *   release  the runner is done: the lock is free when this script exits
 * When no heartbeat came for heartbeat-timeout seconds (a frozen or cut-off runner) or the input
 * ends without `release` (a killed runner, a closed session), the deploy is over: the watchdog says
 * why on its output (`titan-deploy-lock-lost <why>`), ends the connection's other commands (every
 * other child of this connection's sshd process, process group by process group), ends the
 * in-container work (a migration's database session is terminated, which rolls back its
 * transaction), ends the SSH connection itself (so a runner that resumes can change nothing), writes
 * a journal line and only then exits: the lock is free once nothing the deploy started still runs.
 * A waiting guard then returns the host to a good release (guard-scripts.ts).
 */
import { EXIT_LOCK_BUSY } from '@titan/ssh/exit-status';

export const SESSION_LOCK_SCRIPT_NAME = 'titan-deploy-lock';
export const GUARD_PROCESS_NAME = 'titan-guard';

export const ACQUIRED_MARKER = 'titan-deploy-lock-acquired';
export const ABORTED_MARKER = 'titan-deploy-lock-aborted';
export const LOST_MARKER = 'titan-deploy-lock-lost';


/** How the host's stderr line begins when it ends a lock holder that stopped sending heartbeats. */
export const STALE_HOLDER_ENDED = "the deploy lock's holder";


/**
 * Shell functions shared by the session lock and the guard, run in the application folder:
 * holder_number, holder_text, is_session_lock, end_stale_holder and take_lock SECONDS (the lock on fd 9).
 */
export const TAKE_LOCK_PART = `holder_file=.deploy.lock.holder
# holder_number KEY, holder_text KEY: a number or string field of the holder file, empty when there is none.
holder_number() {
  sed -n 's/.*"'"$1"'":\\([0-9]*\\).*/\\1/p' "$holder_file" 2> /dev/null | head -n 1
}
holder_text() {
  sed -n 's/.*"'"$1"'":"\\([0-9a-f]*\\)".*/\\1/p' "$holder_file" 2> /dev/null | head -n 1
}
# is_session_lock PID TOKEN: PID is the session lock process of that session token (by its command
# line, never by the pid alone: pids are reused).
is_session_lock() {
  [ -n "$1" ] && [ -n "$2" ] && [ "$1" -gt 1 ] && [ -r "/proc/$1/cmdline" ] || return 1
  cmd=$(tr '\\0' ' ' < "/proc/$1/cmdline")
  case $cmd in
    *${SESSION_LOCK_SCRIPT_NAME}*"$2"*) return 0 ;;
    *) return 1 ;;
  esac
}
# end_stale_holder: a session holder whose last heartbeat is older than twice its heartbeat-timeout
# and which still holds the lock (its own watchdog, which gives up at once heartbeat-timeout, is
# frozen or wedged) is killed. A watchdog ending a lost deploy sets its heartbeat-timeout to 0.
end_stale_holder() {
  [ -f "$holder_file" ] || return 0
  beat=$(holder_number heartbeatTimeout)
  group=$(holder_number pgid)
  if [ -z "$beat" ] || [ "$beat" -le 0 ] || [ -z "$group" ]; then return 0; fi
  age=$(($(date +%s) - $(stat -c %Y "$holder_file")))
  [ "$age" -gt $((beat * 2)) ] || return 0
  is_session_lock "$group" "$(holder_text token)" || return 0
  echo "${STALE_HOLDER_ENDED} (process group $group) sent no heartbeat for $age s, more than twice its heartbeat-timeout of $beat s: ending it" >&2
  kill -KILL "-$group" 2> /dev/null || true
}
# take_lock SECONDS: takes the deploy lock on fd 9 within SECONDS (0: only if it is free now).
take_lock() {
  exec 9>> .deploy.lock
  deadline=$(($(date +%s) + $1))
  while :; do
    left=$((deadline - $(date +%s)))
    if [ "$left" -le 0 ]; then
      flock -n 9 && return 0
      return ${EXIT_LOCK_BUSY}
    fi
    [ "$left" -le 5 ] || left=5
    flock -w "$left" 9 && return 0
    end_stale_holder
  done
}
`;

/**
 * end_work PREFIX: the in-container work recorded in `state/work-PREFIX*` (all of it for an empty
 * prefix) is ended and waited for. A record is one line `<container> <role> <database>
 * <application_name>`: the database sessions with that application name are terminated (their open
 * transaction rolls back; one that committed stays committed with its history row), and the
 * record goes once none is left.
 */
export const END_WORK_PART = `end_work() {
  for work in state/work-"$1"*; do
    [ -f "$work" ] || continue
    container='' role='' db='' name=''
    read -r container role db name < "$work" || true
    if [ -n "$name" ]; then
      echo "ending the database work $name in container $container"
      i=0
      while [ "$i" -lt 60 ]; do
        left=$(docker exec -i "$container" psql -X -q -A -t -U "$role" -d "$db" -v name="$name" 2> /dev/null << 'SQL' || echo gone
SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :'name') AS t;
SQL
)
        if [ "$left" = 0 ] || [ "$left" = gone ]; then break; fi
        i=$((i + 1))
        sleep 0.5
      done
    fi
    rm -f "$work"
  done
}
`;

/**
 * end_channels: every other command of this SSH connection (the other children of its sshd process
 * `$session`, each in a process group of its own) gets SIGTERM, then SIGKILL after 3 s. Processes
 * that left their group on purpose (a guard started with setsid) are not touched.
 */
export const END_CHANNELS_PART = `end_channels() {
  case $(cat "/proc/$session/comm" 2> /dev/null || true) in
    sshd*) ;;
    *) return 0 ;;
  esac
  groups=$(ps -eo pid=,ppid= | awk -v s="$session" -v me="$$" '$2 == s && $1 != me { print $1 }' | tr '\\n' ' ')
  [ -n "$groups" ] || return 0
  echo "ending the other commands of this SSH connection (process groups $groups)"
  for group in $groups; do kill -TERM "-$group" 2> /dev/null || true; done
  i=0
  while [ "$i" -lt 30 ] && ps -eo pgid=,stat= | awk -v list=" $groups " 'index(list, " " $1 " ") > 0 && $2 !~ /^Z/ { found = 1 } END { exit !found }'; do
    i=$((i + 1))
    sleep 0.1
  done
  for group in $groups; do kill -KILL "-$group" 2> /dev/null || true; done
}
`;

// $1 app dir, $2 holder JSON object from the runner (run URL, release, actor), $3 seconds to wait
// for the lock, $4 heartbeat timeout in seconds, $5 session token (hex: names this session's work).
export const SESSION_LOCK_SCRIPT = `set -eu
app=$1
info=$2
wait=$3
beat_timeout=$4
token=$5
trap '' PIPE
cd "$app"
# This connection's sshd process: the login shell it started exec'd this script.
session=$PPID
${TAKE_LOCK_PART}${END_WORK_PART}${END_CHANNELS_PART}status=0
take_lock "$wait" || status=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
# The lock is ours: whatever an earlier holder left running in a container ends first.
end_work '' >&2
flag=".deploy.lock.end-$token"
rm -f "$flag"
umask 022
printf '{"pid":%s,"pgid":%s,"since":"%s","heartbeatTimeout":%s,"token":"%s",%s\\n' \\
  "$$" "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$beat_timeout" "$token" "\${info#?}" > "$holder_file.tmp.$$"
mv -f "$holder_file.tmp.$$" "$holder_file"
echo ${ACQUIRED_MARKER}
# The reader of the runner's lines runs in the background; a background list reads /dev/null unless
# told otherwise, so it gets this script's standard input explicitly (fd 3).
exec 3<&0
(
  while IFS= read -r line; do
    case $line in
      beat) touch "$holder_file" ;;
      abort)
        end_channels > /dev/null 2>&1 || true
        end_work "$token" > /dev/null 2>&1 || true
        echo ${ABORTED_MARKER} || true
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
why=\${why:-the SSH session ended without releasing the lock}
# Busy ending the deploy, not stale: waiters wait for this process while it lives.
sed 's/"heartbeatTimeout":[0-9]*/"heartbeatTimeout":0/' "$holder_file" > "$holder_file.tmp.$$" && mv -f "$holder_file.tmp.$$" "$holder_file"
echo "${LOST_MARKER} $why" 2> /dev/null || true
mkdir -p state
exec >> state/lock.log 2>&1
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) lost the runner of $info: $why"
end_channels
end_work "$token"
kill "$reader" 2> /dev/null || true
# The SSH connection ends too: a runner that resumes finds it gone and can change nothing.
case $(cat "/proc/$session/comm" 2> /dev/null || true) in
  sshd*) kill -TERM "$session" 2> /dev/null || true ;;
  *) ;;
esac
printf '{"time":"%s","action":"lock","result":"lost","reason":"%s","holder":%s}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$why" "$info" >> journal.jsonl
rm -f "$holder_file" "$flag"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) released the deploy lock"
`;
