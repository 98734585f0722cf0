#!/bin/sh
# Entry point of an infrastructure stand-in. Writes {"status":"ok","service":"<name>"} at /health and
# at $STANDIN_HEALTH_PATH, then serves it with busybox httpd on every port of $STANDIN_PORTS. The
# status is "error" when $STANDIN_CONFIG names a file that is not readable (the mounted config of
# the real service) or when TITAN_FAIL_HEALTH=1.
set -eu

service="${TITAN_SERVICE:-}"
ports="${STANDIN_PORTS:-}"
health_path="${STANDIN_HEALTH_PATH:-/health}"

case "$service" in
  '' | *[!a-z0-9-]*) echo "infra-standin: TITAN_SERVICE must be set at build time (build arg SERVICE), got '$service'" >&2; exit 64 ;;
esac
case "$health_path" in
  /*) ;;
  *) echo "$service: HEALTH_PATH must start with /, got '$health_path'" >&2; exit 64 ;;
esac
[ -n "$ports" ] || { echo "$service: PORTS is empty" >&2; exit 64; }

status=ok
if [ -n "${STANDIN_CONFIG:-}" ] && [ ! -r "$STANDIN_CONFIG" ]; then
  status=error
  echo "$service: config $STANDIN_CONFIG is not readable" >&2
fi
if [ "${TITAN_FAIL_HEALTH:-0}" = 1 ]; then
  status=error
fi

mkdir -p /www
body="$(printf '{"status":"%s","service":"%s"}' "$status" "$service")"
printf '%s\n' "$body" >/www/health
mkdir -p "/www$(dirname "$health_path")"
printf '%s\n' "$body" >"/www$health_path"

# Every httpd runs as a child of this shell, which forwards SIGTERM (PID 1 would ignore it).
children=""
first=""
for port in $ports; do
  case "$port" in
    *[!0-9]*) echo "$service: bad port '$port'" >&2; exit 64 ;;
  esac
  busybox httpd -f -p "$port" -h /www &
  children="$children $!"
  [ -n "$first" ] || first=$!
done
trap 'kill -TERM $children 2>/dev/null; wait; exit 0' TERM INT
echo "$service: stand-in listening on $ports, health $status at $health_path"
# The first port carries the health path: the container ends when that server ends.
wait "$first"
