# shellcheck shell=sh
# The deploy lock, shared by the session lock (deploy-lock.sh) and the guard: holder_number,
# holder_text, is_session_lock, end_stale_holder and take_lock SECONDS (the flock of $TITAN_LOCK on
# fd 9). Needs record.sh.
holder_file=$TITAN_LOCK_HOLDER
# holder_number KEY, holder_text KEY: a number or string field of the holder file, empty when there is none.
holder_number() {
  sed -n 's/.*"'"$1"'":\([0-9]*\).*/\1/p' "$holder_file" 2> /dev/null | head -n 1
}
holder_text() {
  sed -n 's/.*"'"$1"'":"\([0-9a-f]*\)".*/\1/p' "$holder_file" 2> /dev/null | head -n 1
}
# is_session_lock PID TOKEN: PID is the session lock process of that session token (by its command
# line, never by the pid alone: pids are reused).
is_session_lock() {
  [ -n "$1" ] && [ -n "$2" ] && [ "$1" -gt 1 ] && [ -r "/proc/$1/cmdline" ] || return 1
  cmd=$(tr '\0' ' ' < "/proc/$1/cmdline")
  case $cmd in
    *titan-deploy-lock*"$2"*) return 0 ;;
    *) return 1 ;;
  esac
}
# end_stale_holder: a session holder whose last heartbeat is older than twice its heartbeat-timeout
# and which still holds the lock (its own watchdog, which gives up at once heartbeat-timeout, is
# frozen or wedged) is killed, said as a `stale-holder-ended GROUP AGE TIMEOUT` record on stderr.
# A watchdog ending a lost deploy sets its heartbeat-timeout to 0.
end_stale_holder() {
  [ -f "$holder_file" ] || return 0
  beat=$(holder_number heartbeatTimeout)
  group=$(holder_number pgid)
  if [ -z "$beat" ] || [ "$beat" -le 0 ] || [ -z "$group" ]; then return 0; fi
  age=$(($(date +%s) - $(stat -c %Y "$holder_file")))
  [ "$age" -gt $((beat * 2)) ] || return 0
  is_session_lock "$group" "$(holder_text token)" || return 0
  record stale-holder-ended "$group" "$age" "$beat" >&2
  kill -KILL "-$group" 2> /dev/null || true
}
# take_lock SECONDS: takes the deploy lock on fd 9 within SECONDS (0: only if it is free now).
take_lock() {
  exec 9>> "$TITAN_LOCK"
  deadline=$(($(date +%s) + $1))
  while :; do
    left=$((deadline - $(date +%s)))
    if [ "$left" -le 0 ]; then
      flock -n 9 && return 0
      return "$EXIT_LOCK_BUSY"
    fi
    [ "$left" -le 5 ] || left=5
    flock -w "$left" 9 && return 0
    end_stale_holder
  done
}
