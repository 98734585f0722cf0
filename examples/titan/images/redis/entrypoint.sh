#!/bin/sh
# Entry point of the redis service: redis-server with its configuration on standard input, so the
# password (REDIS_PASSWORD) is not on any command line. Persistence in /data: an append-only file
# and RDB snapshots (dump.rdb, what the backup copies).
set -eu

: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
case "$REDIS_PASSWORD" in
  *'
'*) echo "redis: REDIS_PASSWORD must be one line" >&2; exit 64 ;;
esac
command -v redis-server >/dev/null 2>&1 || { echo "redis: no redis-server on PATH; is the host's /usr mounted?" >&2; exit 69; }

# Inside double quotes redis's config parser takes \\ and \" as escapes.
quoted="$(printf '%s' "$REDIS_PASSWORD" | sed 's/[\\"]/\\&/g')"
exec redis-server - <<CONF
bind 0.0.0.0
port 6379
protected-mode yes
daemonize no
dir /data
appendonly yes
save 60 1
dbfilename dump.rdb
requirepass "$quoted"
CONF
