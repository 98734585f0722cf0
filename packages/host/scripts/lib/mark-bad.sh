# shellcheck shell=sh
# Uses the names of lib/state-names.sh: a script sources that first.
# mark_bad RELEASE REASON: the bad mark of RELEASE, `$TITAN_STATE/RELEASE.bad`, one JSON line
# {"release","at","reason"} (REASON is a JSON string literal made by the runner's JSON encoder),
# written atomically (a temporary file renamed over the mark). RELEASE was checked against the
# release id pattern. Used by mark-bad.sh and by the guard's revert.
mark_bad() {
  mkdir -p "$TITAN_STATE"
  printf '{"release":"%s","at":"%s","reason":%s}\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" > "$TITAN_STATE/$1$STATE_BAD_SUFFIX.tmp"
  mv -f "$TITAN_STATE/$1$STATE_BAD_SUFFIX.tmp" "$TITAN_STATE/$1$STATE_BAD_SUFFIX"
}
