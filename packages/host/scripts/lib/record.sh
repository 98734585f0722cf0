# shellcheck shell=sh
# record KIND [VALUE...]: one output record for the runner (host-record.ts reads it): the line
# `titan:KIND`, each VALUE after a tab. A tab or line break inside a value becomes a space, so a
# record is always one line; everything else a script prints is text for people.
record_tab=$(printf '\t')
record() {
  record_line="titan:$1"
  shift
  for record_value in "$@"; do
    case $record_value in
      *"$record_tab"* | *'
'*) record_value=$(printf '%s' "$record_value" | tr '\t\n' '  ') ;;
    esac
    record_line="$record_line$record_tab$record_value"
  done
  printf '%s\n' "$record_line"
}
