#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-swarm-stack-deploy STACK RELEASE MODE FILE...: `docker stack deploy` of the verified release
# folder releases/RELEASE as the swarm stack STACK, with the release's compose files FILE... (the
# digest override last) given by their absolute paths, so relative bind mounts and env_file entries
# resolve inside the release folder. The images stay the pinned digests (--resolve-image never);
# services the release no longer defines are removed (--prune). The production values reach the
# ${VAR} interpolation through this script's environment (shared/.env.prod exported, never on a
# command line), and TITAN_MODE is set over them. It returns once the swarm took the new spec
# (--detach): the runner watches the convergence. Standard input is one more compose file, the
# runner's `titan.release` label on every service's containers (`-c -`): which release a task runs.
set -eu
# shellcheck source=lib/export-env.sh
. "$TITAN_HOST_LIB/export-env.sh"
stack=$1
release=$2
mode=$3
shift 3
dir="$TITAN_RELEASES/$release"
if [ ! -d "$dir" ]; then
  echo "$dir does not exist" >&2
  exit 1
fi
export_env "$TITAN_ENV_FILE"
TITAN_MODE=$mode
export TITAN_MODE
first=1
for file in "$@"; do
  if [ "$first" = 1 ]; then
    set --
    first=0
  fi
  set -- "$@" -c "$dir/$file"
done
docker stack deploy --detach=true --resolve-image never --prune --with-registry-auth "$@" -c - "$stack"
