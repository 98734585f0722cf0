# shellcheck shell=sh
# Uses the names of lib/state-names.sh: a script sources that first.
# stop_guard RELEASE: the guard of RELEASE stops: its record and plan go (a guard stops at its next
# look) and its process gets SIGTERM (found by its command line, never by the pid alone). The guard
# removes its own record when it sees the confirmation, so the record may go at any moment: one that
# is gone is a guard that already stopped. Says `guard-stopped PID` for a guard it ended.
stop_guard() {
  stop_record="$TITAN_STATE/$STATE_GUARD_PREFIX$1.json"
  rm -f "$TITAN_STATE/$STATE_GUARD_PREFIX$1.plan"
  if [ -f "$stop_record" ]; then
    pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$stop_record" 2> /dev/null || true)
    rm -f "$stop_record"
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q titan-guard; then
      kill "$pid" 2> /dev/null || true
      record guard-stopped "$pid"
    fi
  fi
}
