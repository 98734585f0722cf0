# shellcheck shell=sh
# up_all_but HELD COMPOSE...: `COMPOSE up -d --no-deps --remove-orphans` of every service of the
# release but the HELD ones (space-separated), so a held service is never started, not even as a
# dependency of another. COMPOSE is the docker compose command of the release (several words).
up_all_but() {
  up_held=$1
  shift
  up_services=$("$@" config --services | awk -v held=" $up_held " 'index(held, " " $0 " ") == 0' | tr '\n' ' ')
  set -f
  # shellcheck disable=SC2086 # one argument per service
  "$@" up -d --no-deps --remove-orphans $up_services
  set +f
}
