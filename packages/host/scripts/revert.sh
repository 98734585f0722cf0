#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-revert RELEASE BY REASON VERIFY: the return plan of RELEASE, run under the deploy lock (the
# caller holds it), from whatever state the deploy left. BY names who runs it for the journal ('' =
# no journal line; guard, recovery), REASON is a JSON string literal, VERIFY the host's check of a
# release bundle (check-bundle.sh's text).
#
# The plan, $TITAN_STATE/guard-RELEASE.plan (start-guard.sh writes it), holds one value a line: the
# project, the previous release ('' = none), the TITAN_MODE to start it with, the services to stop
# first (space-separated), the services an operator's halt keeps stopped (space-separated), the
# journal fields (a JSON object, its action first), then the previous release's compose files
# relative to its folder, in -f order.
#
# `current` on RELEASE -> stop what changed, flip `current` back atomically, start the previous
# release, mark RELEASE bad (`reverted`); the previous release is verified again first (one that no
# longer verifies is not returned to: `refused`, exit 1, RELEASE left current and nothing stopped).
# The same release deployed again (e.g. DISARMED -> ARMED) -> stop what changed and start it again
# DISARMED (`returned`). `current` still on the previous release (the switch did not happen) ->
# start again, as they were, the services the deploy stopped (`restored`). Under an operator's halt
# ($TITAN_STATE/halted) the held services are never started. It does nothing if the release was
# confirmed meanwhile or `current` moved on. Its last word is the record `outcome WHAT`.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/journal.sh
. "$TITAN_HOST_LIB/journal.sh"
# shellcheck source=lib/mark-bad.sh
. "$TITAN_HOST_LIB/mark-bad.sh"
# shellcheck source=lib/mode.sh
. "$TITAN_HOST_LIB/mode.sh"
# shellcheck source=lib/up-all-but.sh
. "$TITAN_HOST_LIB/up-all-but.sh"
release=$1
by=$2
reason=$3
verify=$4
plan="$TITAN_STATE/$STATE_GUARD_PREFIX$release.plan"
if [ ! -f "$plan" ]; then
  echo "revert: no plan for $release ($plan); nothing to do"
  record outcome nothing
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
for file in "$@"; do files="$files -f $TITAN_CURRENT/$file"; done
compose() {
  # shellcheck disable=SC2086 # one word per -f and per file: bundle paths and the app dir hold no blanks
  env TITAN_MODE="$mode" docker compose -p "$project" --project-directory "$TITAN_CURRENT" $files --env-file "$TITAN_ENV_FILE" "$@"
}
# verify_release ID: the release package's host verification of the release ID against the trusted keys.
verify_release() {
  sh -c "$verify" titan-verify-release "$TITAN_RELEASES/$1" "$TITAN_TRUST" "$1"
}
halted=0
if [ -f "$STATE_HALTED" ]; then halted=1; fi
# up_stack FLAGS...: docker compose up -d FLAGS. Under an operator's halt: every service but the held
# ones, without their dependencies (so a held one is never started as one), DISARMED.
up_stack() {
  if [ "$halted" = 1 ]; then
    echo "revert: the host is halted (${STATE_HALTED#"${TITAN_STATE%/*}"/}): $held stay stopped"
    up_all_but "$held" compose
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
# finish WHAT: the plan is done; the journal says so (when BY is given), then the outcome record.
finish() {
  rm -f "$plan"
  if [ -n "$by" ]; then
    action=$(printf '%s\n' "$journal_base" | sed -n 's/^{"action":"\([a-z-]*\)".*/\1/p')
    rest=$(printf '%s\n' "$journal_base" | sed 's/^{"action":"[a-z-]*",\{0,1\}//; s/^{//; s/}$//')
    journal "${action:-deploy}" "$1-by-$by" "\"release\":\"$release\",\"previous\":\"$previous\",\"mode\":\"$mode\",\"reason\":$reason${rest:+,$rest}"
  fi
  record outcome "$1"
}
if [ -e "$TITAN_STATE/$release$STATE_CONFIRMED_SUFFIX" ]; then
  echo "revert: $release was confirmed meanwhile; nothing to do"
  rm -f "$plan"
  record outcome nothing
  exit 0
fi
current=$(readlink "$TITAN_CURRENT" 2> /dev/null || true)
if [ "$current" = "$TITAN_RELEASES_LINK/$release" ] && [ "$release" = "$previous" ]; then
  echo "revert: $release was deployed again and not confirmed: starting it again $mode"
  for service in $stop_list; do
    echo "revert: stopping $service"
    stop_service "$service"
  done
  up_stack --remove-orphans
  record_mode "$mode"
  finish returned
elif [ "$current" = "$TITAN_RELEASES_LINK/$release" ]; then
  if [ -n "$previous" ]; then
    [ -d "$TITAN_RELEASES/$previous" ] || { echo "revert: $TITAN_RELEASES_LINK/$previous is gone; cannot return to it" >&2; exit 1; }
    # The release returned to is verified again before anything stops: nothing starts on the host
    # that it did not verify (a folder altered, or signed by a key revoked since, is not returned to).
    if ! verdict=$(verify_release "$previous" 2>&1); then
      why=$(printf '%s\n' "$verdict" | sed -n 's/^verify-release: //p' | head -n 1)
      echo "revert: $TITAN_RELEASES_LINK/$previous no longer verifies against ${TITAN_TRUST##*/}/ (${why:-$verdict}): not returning to it; $release stays current, nothing was stopped" >&2
      escaped=$(printf '%s' "${why:-verification failed}" | sed 's/[\\"]/\\&/g')
      reason="\"$TITAN_RELEASES_LINK/$previous no longer verifies: $escaped\""
      finish refused
      exit 1
    fi
    echo "revert: $TITAN_RELEASES_LINK/$previous verified again ($verdict)"
  fi
  for service in $stop_list; do
    echo "revert: stopping $service"
    stop_service "$service"
  done
  if [ -n "$previous" ]; then
    ln -s "$TITAN_RELEASES_LINK/$previous" "$TITAN_CURRENT.tmp-$$"
    mv -T "$TITAN_CURRENT.tmp-$$" "$TITAN_CURRENT"
    echo "revert: current -> $TITAN_RELEASES_LINK/$previous"
    up_stack --remove-orphans
    record_mode "$mode"
  else
    ids=$(docker ps -q --filter "label=com.docker.compose.project=$project")
    for id in $ids; do
      docker stop "$id" > /dev/null
    done
    rm -f "$TITAN_CURRENT"
    echo "revert: no previous release; stopped project $project and removed current"
  fi
  mark_bad "$release" "$reason"
  echo "revert: marked $release bad"
  finish reverted
elif [ -n "$previous" ] && [ "$current" = "$TITAN_RELEASES_LINK/$previous" ]; then
  echo "revert: current still points at $previous (no switch happened): starting again what the deploy stopped"
  up_stack --no-recreate
  finish restored
else
  echo "revert: current points at ${current:-nothing}, neither $release nor ${previous:-a previous release}; nothing to do"
  rm -f "$plan"
  record outcome nothing
fi
