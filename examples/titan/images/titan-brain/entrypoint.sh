#!/bin/sh
# Entry point of the titan-brain stand-in. The health part is images/titan-service/entrypoint.sh,
# unchanged: at start it hashes the risk policy mounted at $TITAN_POLICY_FILE (default
# /etc/titan/policy.json), writes the health document
#   {"status":"ok","service":"<name>","policyHash":"<sha256 hex>","mode":"<TITAN_MODE>"}
# to /www/health and serves it with busybox httpd on $PORT. The status is "error" (and the compose
# healthcheck fails) when the policy cannot be read, when TITAN_MODE is not ARMED or DISARMED, when
# TITAN_FAIL_HEALTH=1, or when the image was built with BROKEN=1.
# Added for the brain: /titan/halt-responder.sh runs beside httpd and answers HARD_HALT commands on
# NATS (see that file). SIGTERM stops both at once.
set -eu

service="${TITAN_SERVICE:-}"
port="${PORT:-}"
policy="${TITAN_POLICY_FILE:-/etc/titan/policy.json}"
mode="${TITAN_MODE:-DISARMED}"

case "$service" in
  '' | *[!a-z0-9-]*) echo "titan-service: TITAN_SERVICE must be set at build time (build arg SERVICE), got '$service'" >&2; exit 64 ;;
esac
case "$port" in
  '' | *[!0-9]*) echo "$service: PORT must be a number, got '$port'" >&2; exit 64 ;;
esac

status=ok
reason=""
policy_hash=""
if [ -r "$policy" ]; then
  policy_hash="$(sha256sum "$policy" | cut -d' ' -f1)"
else
  status=error
  reason="policy file $policy is not readable"
fi
case "$mode" in
  ARMED | DISARMED) ;;
  *) status=error; reason="TITAN_MODE must be ARMED or DISARMED"; mode=INVALID ;;
esac
if [ "${TITAN_FAIL_HEALTH:-0}" = 1 ]; then
  status=error; reason="TITAN_FAIL_HEALTH=1"
fi
if [ "${TITAN_BROKEN:-0}" = 1 ]; then
  status=error; reason="image built with BROKEN=1"
fi

mkdir -p /www
printf '{"status":"%s","service":"%s","policyHash":"%s","mode":"%s"}\n' \
  "$status" "$service" "$policy_hash" "$mode" >/www/health.tmp
mv /www/health.tmp /www/health
printf '<!doctype html><title>%s</title><h1>%s</h1>\n' "$service" "$service" >/www/index.html

echo "$service: listening on :$port, mode $mode, policy sha256 ${policy_hash:-none}, health $status${reason:+ ($reason)}"
# httpd and the halt responder run as children, not as PID 1: PID 1 ignores SIGTERM unless it
# handles it, and then every `docker stop` would wait out the grace period. When PID 1 exits, the
# kernel ends every other process of the container (the responder's nc and session with it).
busybox httpd -f -p "$port" -h /www &
child=$!
sh /titan/halt-responder.sh &
responder=$!
trap 'kill -TERM "$child" "$responder" 2>/dev/null; exit 0' TERM INT
wait "$child"
