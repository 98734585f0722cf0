# shellcheck shell=sh
# Uses the names of lib/state-names.sh: a script sources that first.
# record_mode MODE: $TITAN_STATE/mode, the TITAN_MODE the stack was last started with (atomically).
record_mode() {
  mkdir -p "$TITAN_STATE"
  printf '%s\n' "$1" > "$STATE_MODE.tmp"
  mv -f "$STATE_MODE.tmp" "$STATE_MODE"
}
