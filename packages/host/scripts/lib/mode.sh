# shellcheck shell=sh
# record_mode MODE: $TITAN_STATE/mode, the TITAN_MODE the stack was last started with (atomically).
record_mode() {
  mkdir -p "$TITAN_STATE"
  printf '%s\n' "$1" > "$TITAN_STATE/mode.tmp"
  mv -f "$TITAN_STATE/mode.tmp" "$TITAN_STATE/mode"
}
