#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-start-guard GUARD REVERT VERIFY RELEASE PREVIOUS TIMEOUT PLAN...: writes the return plan of
# RELEASE ($TITAN_STATE/guard-RELEASE.plan, one PLAN value a line: see revert.sh), launches the guard
# (GUARD, guard.sh, with REVERT and VERIFY) detached with setsid -f, its output appended to
# $TITAN_STATE/guard-RELEASE.log, and waits until it has recorded itself. Its last word is the
# record `guard JSON`, the guard's own record (release, previous, pid, startedAt, deadline, session).
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
guard=$1
revert=$2
verify=$3
release=$4
previous=$5
timeout=$6
shift 6
mkdir -p "$TITAN_STATE"
rm -f "$TITAN_STATE/$release$STATE_CONFIRMED_SUFFIX" "$TITAN_STATE/$STATE_GUARD_PREFIX$release.json"
plan="$TITAN_STATE/$STATE_GUARD_PREFIX$release.plan"
: > "$plan.tmp"
for value in "$@"; do
  printf '%s\n' "$value" >> "$plan.tmp"
done
mv -f "$plan.tmp" "$plan"
session=$(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' "$TITAN_LOCK_HOLDER" 2> /dev/null | head -n 1)
setsid -f sh -c "$guard" titan-guard "$release" "$previous" "$timeout" "$session" "$revert" "$verify" < /dev/null >> "$TITAN_STATE/$STATE_GUARD_PREFIX$release.log" 2>&1
i=0
while [ ! -s "$TITAN_STATE/$STATE_GUARD_PREFIX$release.json" ]; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "the guard did not start; see $TITAN_STATE/$STATE_GUARD_PREFIX$release.log" >&2
    exit 1
  fi
  sleep 0.05
done
record guard "$(head -n 1 "$TITAN_STATE/$STATE_GUARD_PREFIX$release.json")"
