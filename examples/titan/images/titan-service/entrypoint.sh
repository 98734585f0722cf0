#!/bin/sh
# Entry point of a Titan service stand-in. At start it hashes the risk policy mounted at
# $TITAN_POLICY_FILE (default /etc/titan/policy.json), writes the health document
#   {"status":"ok","service":"<name>","policyHash":"<sha256 hex>","mode":"<TITAN_MODE>"}
# to /www/health and serves it with busybox httpd on $PORT. The status is "error" (and the compose
# healthcheck fails) when the policy cannot be read, when TITAN_MODE is not ARMED or DISARMED, when
# TITAN_FAIL_HEALTH=1, when the image was built with BROKEN=1, or when a secret the service reads as
# a file (a `NAME_FILE=/run/secrets/<name>` variable, set by the secrets overlay) is missing, empty
# or unreadable: the service reads each one at start, as the real services read their credentials.
# SIGTERM stops it at once.
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

secrets=0
wanted=$(env | sed -n 's/^\([A-Z0-9_]*_FILE\)=\(\/run\/secrets\/.*\)$/\1 \2/p')
while read -r variable path; do
  [ -n "$variable" ] || continue
  if [ -f "$path" ] && [ -r "$path" ] && [ -s "$path" ]; then
    secrets=$((secrets + 1))
  else
    status=error; reason="secret file $path ($variable) is missing, empty or unreadable"
  fi
done <<EOF
$wanted
EOF

mkdir -p /www
printf '{"status":"%s","service":"%s","policyHash":"%s","mode":"%s"}\n' \
  "$status" "$service" "$policy_hash" "$mode" >/www/health.tmp
mv /www/health.tmp /www/health
printf '<!doctype html><title>%s</title><h1>%s</h1>\n' "$service" "$service" >/www/index.html

echo "$service: listening on :$port, mode $mode, policy sha256 ${policy_hash:-none}, $secrets secret file(s) read, health $status${reason:+ ($reason)}"
# httpd runs as a child, not as PID 1: PID 1 ignores SIGTERM unless it handles it, and then every
# `docker stop` would wait out the grace period.
busybox httpd -f -p "$port" -h /www &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
wait "$child"
