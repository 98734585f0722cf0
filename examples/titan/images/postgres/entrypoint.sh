#!/bin/sh
# Entry point of the postgres service. On first start (empty $PGDATA) it runs initdb with the
# superuser postgres (password POSTGRES_PASSWORD), creates the login role titan (password
# TITAN_DB_PASSWORD) and the database titan owned by it, on a private socket so that nothing sees
# the server before it is ready. Then it runs postgres in the foreground, listening on every
# address of the container (TCP needs a password, scram-sha-256; the local socket trusts, as it is
# only reachable from inside the container).
set -eu

: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
: "${TITAN_DB_PASSWORD:?TITAN_DB_PASSWORD must be set}"
pgdata="${PGDATA:-/data/pgdata}"
command -v postgres >/dev/null 2>&1 || { echo "postgres: no postgres binary on PATH ($PATH); is the host's /usr mounted?" >&2; exit 69; }
if [ "$(id -u)" = 0 ]; then
  echo "postgres: refusing to run as root; set user: to the host's postgres uid:gid" >&2
  exit 64
fi

umask 077
if [ ! -s "$pgdata/PG_VERSION" ]; then
  echo "postgres: initialising $pgdata"
  workdir="$(mktemp -d /tmp/pg-init.XXXXXX)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$workdir/pwfile"
  initdb --pgdata="$pgdata" --username=postgres --pwfile="$workdir/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C >/dev/null
  rm -f "$workdir/pwfile"
  printf '%s\n' '# any address of the container network, password required' \
    'host all all 0.0.0.0/0 scram-sha-256' 'host all all ::/0 scram-sha-256' >>"$pgdata/pg_hba.conf"
  pg_ctl --pgdata="$pgdata" --wait --silent \
    -o "-c listen_addresses='' -c unix_socket_directories=$workdir" start
  psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host="$workdir" --username=postgres --dbname=postgres <<'SQL'
\getenv titan_password TITAN_DB_PASSWORD
CREATE ROLE titan LOGIN PASSWORD :'titan_password';
CREATE DATABASE titan OWNER titan;
SQL
  pg_ctl --pgdata="$pgdata" --wait --silent --mode=fast stop
  rmdir "$workdir"
  echo "postgres: database titan ready"
fi

exec postgres -D "$pgdata" -c listen_addresses='*'
