#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-host-state: what a deploy needs to know about the host before it changes anything, one
# record per fact (host-state.ts reads them): `now EPOCH`, `current TARGET`, `release ID MTIME BAD
# CONFIRMED`, `partial NAME MTIME`, `trust COUNT`, `env MODE OWNER`, `guard ALIVE JSON`, `mode MODE`,
# `halted JSON`. Release ids are the only names printed and the reader checks them.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
record now "$(date +%s)"
if [ -L "$TITAN_CURRENT" ]; then record current "$(readlink "$TITAN_CURRENT")"; fi
for dir in "$TITAN_RELEASES"/*/ "$TITAN_RELEASES"/.*.partial-*/; do
  [ -d "$dir" ] || continue
  name=${dir#"$TITAN_RELEASES"/}
  name=${name%/}
  mtime=$(stat -c %Y "$dir")
  case $name in
    .*) record partial "$name" "$mtime" ;;
    *)
      bad=0
      confirmed=0
      if [ -e "$TITAN_STATE/$name$STATE_BAD_SUFFIX" ]; then bad=1; fi
      if [ -e "$TITAN_STATE/$name$STATE_CONFIRMED_SUFFIX" ]; then confirmed=1; fi
      record release "$name" "$mtime" "$bad" "$confirmed"
      ;;
  esac
done
keys=0
for key in "$TITAN_TRUST"/*.pem "$TITAN_TRUST"/*.pub; do
  if [ -f "$key" ]; then keys=$((keys + 1)); fi
done
record trust "$keys"
if [ -f "$TITAN_ENV_FILE" ]; then
  record env "$(stat -c %a "$TITAN_ENV_FILE")" "$(stat -c %U "$TITAN_ENV_FILE")"
fi
for guard_record in "$TITAN_STATE/$STATE_GUARD_PREFIX"*.json; do
  [ -f "$guard_record" ] || continue
  pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$guard_record")
  alive=0
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q titan-guard; then alive=1; fi
  record guard "$alive" "$(head -n 1 "$guard_record")"
done
if [ -f "$STATE_MODE" ]; then record mode "$(head -n 1 "$STATE_MODE")"; fi
if [ -f "$STATE_HALTED" ]; then record halted "$(head -n 1 "$STATE_HALTED")"; fi
