#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-switch-current RELEASE TMP: `current` -> the release RELEASE, atomically: a symbolic link
# made under the temporary name TMP beside it, then renamed over it (`mv -T`, one rename(2)). The
# release folder is touched (the releases' modification times say which ran most recently). Its
# last word is the record `current TARGET`, the link read back.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
release=$1
tmp="$TITAN_APP_DIR/$2"
if [ ! -d "$TITAN_RELEASES/$release" ]; then
  echo "$TITAN_RELEASES/$release does not exist" >&2
  exit 1
fi
ln -s "$TITAN_RELEASES_LINK/$release" "$tmp"
mv -T "$tmp" "$TITAN_CURRENT"
touch "$TITAN_RELEASES/$release"
record current "$(readlink "$TITAN_CURRENT")"
