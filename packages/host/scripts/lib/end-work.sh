# shellcheck shell=sh
# Uses the names of lib/state-names.sh: a script sources that first.
# end_work PREFIX: the in-container work recorded in `$TITAN_STATE/work-PREFIX*` (all of it for an
# empty prefix) is ended and waited for. A record is one line `<container> <role> <database>
# <application_name>` (apply-migration.sh writes it): the database sessions with that application
# name are terminated (their open transaction rolls back; one that committed stays committed with its
# history row), and the record goes once none is left.
end_work() {
  for work in "$TITAN_STATE/$STATE_WORK_PREFIX$1"*; do
    [ -f "$work" ] || continue
    container='' role='' db='' name=''
    read -r container role db name < "$work" || true
    if [ -n "$name" ]; then
      echo "ending the database work $name in container $container"
      i=0
      while [ "$i" -lt 60 ]; do
        left=$(docker exec -i "$container" psql -X -q -A -t -U "$role" -d "$db" -v name="$name" 2> /dev/null << 'SQL' || echo gone
SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :'name') AS t;
SQL
)
        if [ "$left" = 0 ] || [ "$left" = gone ]; then break; fi
        i=$((i + 1))
        sleep 0.5
      done
    fi
    rm -f "$work"
  done
}
