# shellcheck shell=sh
# verify_into_record VERIFY DIR ID: the host's check of a release bundle (VERIFY, check-bundle.sh's
# text) of the release folder DIR as release ID against the trusted keys in $TITAN_TRUST. Verified: the
# record `verified VERDICT` (its words: `verified ID KEY_FILE`), status 0. Not: its words on stderr,
# status EXIT_NOT_VERIFIED.
verify_into_record() {
  if verify_out=$(sh -c "$1" titan-check-bundle "$2" "$TITAN_TRUST" "$3" 2>&1); then
    record verified "$(printf '%s\n' "$verify_out" | tail -n 1)"
    return 0
  fi
  printf '%s\n' "$verify_out" >&2
  return "$EXIT_NOT_VERIFIED"
}
