#!/bin/sh
# Entry point of the nats service: checks that every password the configuration references is set
# (naming the missing variable, never printing a value), then runs nats-server with the arguments.
set -eu

missing=""
for var in NATS_SYS_PASSWORD NATS_BRAIN_PASSWORD NATS_EXECUTION_PASSWORD NATS_SCAVENGER_PASSWORD \
  NATS_HUNTER_PASSWORD NATS_SENTINEL_PASSWORD NATS_POWERLAW_PASSWORD NATS_QUANT_PASSWORD \
  NATS_CONSOLE_PASSWORD NATS_BACKUP_PASSWORD; do
  eval "value=\${$var:-}"
  [ -n "$value" ] || missing="$missing $var"
done
if [ -n "$missing" ]; then
  echo "nats: missing environment:$missing" >&2
  exit 64
fi
command -v nats-server >/dev/null 2>&1 || { echo "nats: no nats-server on PATH; is the host's /usr mounted?" >&2; exit 69; }
exec nats-server "$@"
