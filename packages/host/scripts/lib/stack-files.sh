# shellcheck shell=sh
# shared_digest: one sha256 over every regular file under $TITAN_SHARED (paths relative to it, and
# contents). containers PROJECT: `ID STATE SERVICE` of every container of the Compose project PROJECT.
shared_digest() {
  (cd "$TITAN_SHARED" 2> /dev/null && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d ' ' -f 1
}
containers() {
  docker ps -a --no-trunc --filter "label=com.docker.compose.project=$1" --format '{{.ID}} {{.State}} {{.Label "com.docker.compose.service"}}'
}
