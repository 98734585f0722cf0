# shellcheck shell=sh
# journal ACTION RESULT FIELDS [TIME]: appends one line to the host's journal ($TITAN_JOURNAL) in
# the one format every journal line has, the runner's too (journal.ts, journalLine):
# {"time":TIME,"action":ACTION,"result":RESULT,FIELDS}. ACTION and RESULT are words; FIELDS is the
# rest of the JSON object without its braces (made by the runner's JSON encoder, or by the caller
# from values it checked), '' for none; TIME is the host's clock unless given (ISO 8601, UTC).
# One O_APPEND write keeps concurrent lines whole.
journal() {
  journal_rest=''
  if [ -n "$3" ]; then journal_rest=",$3"; fi
  journal_time=${4:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
  printf '{"time":"%s","action":"%s","result":"%s"%s}\n' "$journal_time" "$1" "$2" "$journal_rest" >> "$TITAN_JOURNAL"
}
