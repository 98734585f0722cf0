#!/bin/sh
# HARD_HALT responder of the titan-brain stand-in: keeps one NATS connection open as user
# $NATS_USER (brain) and hands it to /titan/nats-session.sh, which subscribes to the halt subject
# and answers. When the connection cannot be made or ends (NATS stopped, restarted, unreachable),
# it connects again after a delay that doubles from 1 s up to 10 s, and starts again at 1 s once a
# session has lasted 30 s. The password is read from the environment by the session and written to
# the socket only: it is on no command line.
#   NATS_URL             nats://HOST:PORT (default nats://nats:4222)
#   NATS_USER            default brain
#   NATS_PASSWORD        required (compose passes ${NATS_BRAIN_PASSWORD:?})
#   HMAC_SECRET          required: the stack's command-signing secret (checks halts, signs acknowledgements)
#   TITAN_HALT_SUBJECT   default titan.cmd.sys.halt
#   TITAN_HALT_LOG       default /titan/halts.log
set -u

log() {
  printf 'titan-brain halt-responder: %s\n' "$1"
}

if [ -z "${NATS_PASSWORD:-}" ]; then
  log "NATS_PASSWORD is not set: HARD_HALT commands cannot be received"
  exit 64
fi
if [ -z "${HMAC_SECRET:-}" ]; then
  log "HMAC_SECRET is not set: HARD_HALT commands cannot be checked, so none is obeyed"
  exit 64
fi
url=${NATS_URL:-nats://nats:4222}
address=${url#nats://}
address=${address%/}
host=${address%:*}
port=${address##*:}
if [ "$host" = "$address" ]; then port=4222; fi
case $port in
  '' | *[!0-9]*) log "NATS_URL $url has no usable port"; exit 64 ;;
esac

# nats-session.sh lies beside this script (/titan in the image).
session=${0%/*}/nats-session.sh
delay=1
while :; do
  started=$(date +%s)
  # The session writes its own log lines to descriptor 3 (this container's standard output); its
  # standard input and output are the NATS connection.
  nc -w 5 "$host" "$port" -e "$session" 3>&1 || true
  if [ $(($(date +%s) - started)) -ge 30 ]; then delay=1; fi
  log "not connected to $host:$port; trying again in $delay s"
  sleep "$delay"
  delay=$((delay * 2))
  if [ "$delay" -gt 10 ]; then delay=10; fi
done
