#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-secret-files PATH...: how the host keeps the secret files PATH (relative to the application
# folder, under shared/): each must be a regular file (not a link), not empty, mode 0600 or 0400,
# the deploy user's. The record `secret-file PATH PROBLEM` for each problem; never the content.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
me=$(id -u)
me_name=$(id -un)
for rel in "$@"; do
  f="$TITAN_APP_DIR/$rel"
  if [ -L "$f" ]; then record secret-file "$rel" "is a symbolic link (it must be the file itself)"; continue; fi
  if [ ! -e "$f" ]; then record secret-file "$rel" "is missing"; continue; fi
  if [ ! -f "$f" ]; then record secret-file "$rel" "is not a regular file"; continue; fi
  read -r mode owner owner_name size <<EOF2
$(stat -c '%a %u %U %s' -- "$f")
EOF2
  case "$mode" in
    600 | 400) ;;
    *) record secret-file "$rel" "has mode 0$mode (it must be 0600 or 0400: readable by the deploy user only)" ;;
  esac
  if [ "$owner" != "$me" ]; then record secret-file "$rel" "is owned by $owner_name (uid $owner), not by the deploy user $me_name"; fi
  if [ "$size" = 0 ]; then record secret-file "$rel" "is empty"; fi
done
