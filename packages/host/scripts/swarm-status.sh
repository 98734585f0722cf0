#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# titan-swarm-status STACK: what the swarm says of the stack STACK now, as records:
#   swarm STATE CONTROL         this engine's swarm state (active, inactive, ...) and whether it is a manager
#   now EPOCH                   the host's clock
#   service ID NAME IMAGE REPLICAS UPDATE-STATE UPDATE-STARTED-EPOCH UPDATE-MESSAGE
#                               (REPLICAS `global` for a global service; `none 0` before any update)
#   task ID SERVICE-ID IMAGE RELEASE DESIRED STATE CREATED-EPOCH CONTAINER ERROR
#                               (RELEASE: its container's titan.release label, `-` when none)
#   container ID TASK-ID STATUS (docker ps's status: `Up 3 seconds (healthy)`)
# Nothing is changed.
set -eu
# shellcheck source=lib/record.sh
. "$TITAN_HOST_LIB/record.sh"
stack=$1
tab=$(printf '\t')
info=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
# shellcheck disable=SC2086 # two words
record swarm $info
record now "$(date +%s)"
case $info in
  'active true') ;;
  *) exit 0 ;;
esac
services=$(docker service ls -q --filter "label=com.docker.stack.namespace=$stack")
[ -n "$services" ] || exit 0
# shellcheck disable=SC2086 # one id per word
docker service inspect --format '{{.ID}}	{{.Spec.Name}}	{{.Spec.TaskTemplate.ContainerSpec.Image}}	{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}global{{end}}	{{if .UpdateStatus}}{{.UpdateStatus.State}}	{{if .UpdateStatus.StartedAt}}{{.UpdateStatus.StartedAt.Unix}}{{else}}0{{end}}	{{.UpdateStatus.Message}}{{else}}none	0	{{end}}' $services |
  while IFS="$tab" read -r id name image replicas state started message; do
    record service "$id" "$name" "$image" "$replicas" "$state" "$started" "$message"
  done
# shellcheck disable=SC2086 # one id per word
tasks=$(docker service ps -q --no-trunc $services)
if [ -n "$tasks" ]; then
  # shellcheck disable=SC2086 # one id per word
  docker inspect --type task --format '{{.ID}}	{{.ServiceID}}	{{.Spec.ContainerSpec.Image}}	{{with index .Spec.ContainerSpec.Labels "titan.release"}}{{.}}{{else}}-{{end}}	{{.DesiredState}}	{{.Status.State}}	{{.CreatedAt.Unix}}	{{with .Status.ContainerStatus}}{{if .ContainerID}}{{.ContainerID}}{{else}}-{{end}}{{else}}-{{end}}	{{.Status.Err}}' $tasks |
    while IFS="$tab" read -r id service image release desired state created container error; do
      record task "$id" "$service" "$image" "$release" "$desired" "$state" "$created" "$container" "$error"
    done
fi
docker ps -a --no-trunc --filter "label=com.docker.stack.namespace=$stack" --format '{{.ID}}	{{.Label "com.docker.swarm.task.id"}}	{{.Status}}' |
  while IFS="$tab" read -r id task status; do
    record container "$id" "$task" "$status"
  done
