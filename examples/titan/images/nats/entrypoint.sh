#!/bin/sh
# Entry point of the nats service. The configuration it is given (`-c FILE`, the release's
# config/nats.conf, mounted read-only) references every password as $NATS_<USER>_PASSWORD. Left to
# itself, nats-server would read such a reference from the environment as a configuration VALUE:
# a password that looks like a number (`12e4...`, `86e1...`, all digits), a size (`1k`, `64MB`), a
# boolean (`true`, `off`) or holds `#`, spaces or quotes would be parsed as that, or fail to parse.
# So this renders the configuration into /tmp/titan-nats/nats.conf: every password the file
# references, defined first as a double-quoted string (`\` and `"` escaped), then the file itself,
# unchanged; nats-server resolves a reference to a variable the file defines before the
# environment, and a quoted string is always a string. A referenced password that is missing, empty
# or holds a line break or another control character stops the container, naming the variable;
# no value is ever printed. Then it runs nats-server with the arguments, `-c` pointing at the
# rendered file.
set -eu

rendered_dir=/tmp/titan-nats
rendered=$rendered_dir/nats.conf

# The arguments again, with `-c FILE` replaced by the rendered file.
source_config=
count=$#
i=0
while [ "$i" -lt "$count" ]; do
  arg=$1
  shift
  i=$((i + 1))
  if [ "$arg" = -c ] && [ "$i" -lt "$count" ]; then
    source_config=$1
    shift
    i=$((i + 1))
    set -- "$@" -c "$rendered"
  else
    set -- "$@" "$arg"
  fi
done
[ -n "$source_config" ] || { echo "nats: no -c CONFIG among the arguments" >&2; exit 64; }
[ -r "$source_config" ] || { echo "nats: the configuration $source_config cannot be read" >&2; exit 66; }
command -v nats-server >/dev/null 2>&1 || { echo "nats: no nats-server on PATH; is the host's /usr mounted?" >&2; exit 69; }

names=$(grep -o '[$]NATS_[A-Z0-9_]*_PASSWORD' "$source_config" | tr -d '$' | sort -u)
[ -n "$names" ] || { echo "nats: $source_config references no \$NATS_*_PASSWORD" >&2; exit 64; }
control=$(printf '[\001-\037\177]')

umask 077
mkdir -p "$rendered_dir"
missing=""
unusable=""
{
  printf '# Rendered by the nats entry point from %s: the passwords it references, as quoted strings.\n' "$source_config"
  for name in $names; do
    eval "value=\${$name:-}"
    if [ -z "$value" ]; then
      missing="$missing $name"
      continue
    fi
    case $value in
      *$control*)
        unusable="$unusable $name"
        continue
        ;;
    esac
    printf '%s = "%s"\n' "$name" "$(printf '%s' "$value" | sed 's/[\\"]/\\&/g')"
  done
  printf '\n'
  cat "$source_config"
} >"$rendered.tmp"
if [ -n "$missing" ] || [ -n "$unusable" ]; then
  rm -f "$rendered.tmp"
  [ -z "$missing" ] || echo "nats: missing environment:$missing" >&2
  [ -z "$unusable" ] || echo "nats: a line break or control character in:$unusable (a password is one line of printable characters)" >&2
  exit 64
fi
mv -f "$rendered.tmp" "$rendered"
exec nats-server "$@"
