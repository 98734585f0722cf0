#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-remove-releases PARTIALS RELEASE...: removes the upload folders PARTIALS (space-separated
# names in $TITAN_RELEASES) and the releases RELEASE with their confirmation, bad mark and guard log.
# A release `current` points at is kept (said on stderr). Says `removed ID` for each one removed.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
partials=$1
shift
# Released files are read-only (install-release.sh): write access first, for the removal.
for name in $partials; do
  chmod -R u+w -- "$TITAN_RELEASES/$name" 2> /dev/null || true
  rm -rf -- "${TITAN_RELEASES:?}/$name"
done
current=$(readlink "$TITAN_CURRENT" 2> /dev/null || true)
for id in "$@"; do
  if [ "$current" = "$TITAN_RELEASES_LINK/$id" ]; then
    echo "kept $id: it is current" >&2
    continue
  fi
  chmod -R u+w -- "$TITAN_RELEASES/$id"
  rm -rf -- "${TITAN_RELEASES:?}/$id"
  rm -f -- "$TITAN_STATE/$id$STATE_CONFIRMED_SUFFIX" "$TITAN_STATE/$id$STATE_BAD_SUFFIX" "$TITAN_STATE/$STATE_GUARD_PREFIX$id.log"
  record removed "$id"
done
