#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-swarm-stack-remove STACK: removes the swarm stack STACK (a first release that did not
# converge: nothing of it is left running) and waits up to 60 s until its tasks' containers are gone.
set -eu
stack=$1
docker stack rm "$stack"
i=0
while [ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ]; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then
    echo "the containers of stack $stack are still there after 60 s" >&2
    exit 1
  fi
  sleep 0.5
done
