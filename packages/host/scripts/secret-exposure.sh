#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-secret-exposure RELEASE PROJECT N PATH... COMPOSE...: where the content of each secret file
# PATH (N of them, relative to the application folder) is found besides the file itself: in a file of
# the release RELEASE, in a container of the Compose project PROJECT (labels, environment, log), in
# one of their images' labels, in what `COMPOSE... config` makes of the release. The search is
# `grep -F -f PATH`: the content never leaves the file, and is never printed.
# Records: `exposure PATH WHERE` for each place found (PATH `-` for what concerns no one file; a file
# that cannot be searched is one too), `searched ID...` (the containers searched, full ids) and
# `compose-model searched|unchanged`.
# What is searched is gathered at once, concurrently: the containers' labels and environment (one
# docker inspect), their images' labels, their logs (8 `docker logs` at a time), and the compose
# model. Compose takes most of a second to start, and its model can only change with what it is made
# of: every file of the release, every file under shared/ (the production values, the secret files),
# the variables of the session Compose reads (COMPOSE_*, DOCKER_*, those the compose files and the
# production values refer to) and the Compose and Docker programs. When the model of exactly those inputs was searched before and held no secret (the record
# $TITAN_STATE/compose-model-searched, 0600, one sha256 over all of them), it is not made again.
set -eu
# shellcheck source=lib/state-names.sh
. "$TITAN_HOST_LIB/state-names.sh"
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
# shellcheck source=lib/stack-files.sh
. "$TITAN_HOST_LIB/stack-files.sh"
release=$1
project=$2
count=$3
shift 3
secrets=""
i=0
while [ "$i" -lt "$count" ]; do
  secrets="$secrets $1"
  shift
  i=$((i + 1))
done
release_dir="$TITAN_RELEASES/$release"
searched_record="$STATE_COMPOSE_MODEL_SEARCHED"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"

# The inputs of the compose model, as one sha256.
programs() {
  for program in "$(command -v docker || true)" "$(command -v docker-compose || true)" \
    "${HOME:-/nonexistent}/.docker/cli-plugins/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose \
    /usr/local/libexec/docker/cli-plugins/docker-compose /usr/lib/docker/cli-plugins/docker-compose \
    /usr/libexec/docker/cli-plugins/docker-compose; do
    if [ -n "$program" ] && [ -e "$program" ]; then stat -L -c '%n %s %.9Y %.9Z %i' -- "$program"; fi
  done
}
model_inputs() {
  printf 'compose'
  printf ' %s' "$@"
  printf '\nshared %s\n' "$(shared_digest)"
  (cd "$release_dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
  for rel in $secrets; do
    if [ -f "$TITAN_APP_DIR/$rel" ] && [ -r "$TITAN_APP_DIR/$rel" ]; then sha256sum -- "$TITAN_APP_DIR/$rel"; else printf 'unreadable %s\n' "$rel"; fi
  done
  environment
  programs
}
# The session's variables Compose reads: COMPOSE_* and DOCKER_*, and those the release's compose files
# or the production values refer to (the others, such as a session's own id, change nothing).
environment() {
  env | grep -E '^(COMPOSE|DOCKER)_' | LC_ALL=C sort || true
  names=$({ find "$release_dir" -type f \( -name '*.yml' -o -name '*.yaml' \) -exec cat -- {} + 2> /dev/null; cat -- "$TITAN_ENV_FILE" 2> /dev/null; } |
    grep -oE '[$][{]?[A-Za-z_][A-Za-z0-9_]*' | tr -d '{$' | LC_ALL=C sort -u) || true
  for name in $names; do
    eval "printf '%s=%s\n' \"\$name\" \"\${$name-(unset)}\""
  done
}
model_key=$(model_inputs "$@" | sha256sum | cut -d ' ' -f 1)
config_pid=""
if [ -f "$searched_record" ] && [ "$(cat "$searched_record")" = "$model_key" ]; then
  record compose-model unchanged
else
  "$@" config > "$work/config" 2> /dev/null &
  config_pid=$!
fi

ids=$(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project")
: > "$work/containers"
: > "$work/images"
if [ -n "$ids" ]; then
  (
    # shellcheck disable=SC2086 # one id per word
    docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} ({{printf "%.12s" .Id}}){{"\t"}}{{json .Config.Labels}}{{"\t"}}{{json .Config.Env}}' $ids > "$work/containers" || true
    # shellcheck disable=SC2086
    images=$(docker inspect --format '{{.Image}}' $ids | sort -u) || true
    # shellcheck disable=SC2086
    [ -z "$images" ] || docker image inspect --format '{{printf "%.19s" .Id}}{{"\t"}}{{json .Config.Labels}}' $images > "$work/images" || true
  ) &
  inspect_pid=$!
  # shellcheck disable=SC2016,SC2086 # $1 and $2 are the inner shell's; one id per word
  printf '%s\n' $ids | xargs -r -P 8 -I '{}' sh -c 'docker logs "$1" > "$2/log.$1" 2>&1 || true' titan-container-log '{}' "$work"
  wait "$inspect_pid" || true
fi
config_searched=no
if [ -n "$config_pid" ]; then
  if wait "$config_pid"; then config_searched=yes; else record exposure - "docker compose config failed: its output was not searched"; fi
fi

# The short id and service of container $1, as docker inspect wrote them.
container_name() {
  grep -F "($(printf '%.12s' "$1"))" "$work/containers" | cut -f1 | head -n 1
}
config_clean=$config_searched
for rel in $secrets; do
  f="$TITAN_APP_DIR/$rel"
  if [ ! -f "$f" ] || [ ! -r "$f" ]; then record exposure "$rel" "cannot be read, so it was not searched for"; config_clean=no; continue; fi
  if grep -q '^$' "$f"; then record exposure "$rel" "holds an empty line, so it was not searched for"; config_clean=no; continue; fi
  grep -rlF -f "$f" -- "$release_dir" 2> /dev/null | while IFS= read -r hit; do
    record exposure "$rel" "the release file ${hit#"$TITAN_APP_DIR/"}"
  done
  if [ "$config_searched" = yes ] && grep -qF -f "$f" "$work/config"; then
    record exposure "$rel" "the output of docker compose config"
    config_clean=no
  fi
  grep -F -f "$f" "$work/containers" | cut -f1 | while IFS= read -r container; do
    record exposure "$rel" "the labels or environment of container $container"
  done
  grep -F -f "$f" "$work/images" | cut -f1 | while IFS= read -r image; do
    record exposure "$rel" "the labels of image $image"
  done
  for id in $ids; do
    if grep -qF -f "$f" "$work/log.$id"; then record exposure "$rel" "the log of container $(container_name "$id")"; fi
  done
done
if [ "$config_clean" = yes ]; then
  record compose-model searched
  # Remembered if the state folder takes it (a host where it cannot only makes the model every time).
  { mkdir -p "$TITAN_STATE" && printf '%s\n' "$model_key" > "$searched_record.tmp" && chmod 0600 "$searched_record.tmp" &&
    mv -f "$searched_record.tmp" "$searched_record"; } 2> /dev/null || rm -f "$searched_record.tmp"
fi
# shellcheck disable=SC2086 # one id per word
record searched $ids
