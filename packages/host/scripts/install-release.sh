#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-install-release PARTIAL RELEASE: the uploaded folder $TITAN_RELEASES/PARTIAL becomes the
# release RELEASE once the host verified it (lib/verify.sh; check-bundle.sh's
# text on stdin): first made read-only for everyone (no write, setuid, setgid or sticky bit
# survives the upload, whatever the tar said), so nobody changes it between the check and its use,
# then verified, then renamed to $TITAN_RELEASES/RELEASE. A folder that does not verify is removed:
# exit EXIT_NOT_VERIFIED, the verify script's reason on stderr.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/read-only.sh
. "$TITAN_HOST_LIB/read-only.sh"
# shellcheck source=lib/verify.sh
. "$TITAN_HOST_LIB/verify.sh"
partial="$TITAN_RELEASES/$1"
final="$TITAN_RELEASES/$2"
verify=$(cat)
read_only "$partial"
status=0
verify_into_record "$verify" "$partial" "$2" || status=$?
if [ "$status" -eq 0 ]; then
  mv -T -- "$partial" "$final"
else
  chmod -R u+w -- "$partial"
  rm -rf -- "$partial"
  exit "$status"
fi
