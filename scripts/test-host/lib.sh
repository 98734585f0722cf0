# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file
# Shared by scripts/test-host/up and scripts/test-host/down: paths of the test host and helpers to
# tell a live daemon from a stale pidfile. Sourced, not run.

TEST_HOST_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${TITAN_TEST_HOST_DIR:-/var/tmp/titan-test-host}"
SSH_PORT="${TITAN_TEST_HOST_SSH_PORT:-2222}"
REGISTRY_PORT="${TITAN_TEST_HOST_REGISTRY_PORT:-5000}"
REGISTRY="127.0.0.1:${REGISTRY_PORT}"
IMAGE_PREFIX="${REGISTRY}/titan"
EXAMPLE="${TEST_HOST_REPO}/examples/titan"
APP_DIR="${STATE}/opt/titan"
DEPLOY_USER=deploy
DOCKER_SOCK=/var/run/docker.sock

RUN_DIR="${STATE}/run"
LOG_DIR="${STATE}/log"
SSH_DIR="${STATE}/ssh"
DOCKERD_PIDFILE="${RUN_DIR}/dockerd.pid"
SSHD_PIDFILE="${RUN_DIR}/sshd.pid"
REGISTRY_PIDFILE="${RUN_DIR}/registry.pid"

export DOCKER_HOST="unix://${DOCKER_SOCK}"

step="start"

log() { printf '[test-host] %s\n' "$*" >&2; }

die() {
  printf '[test-host] FAILED in step "%s": %s\n' "$step" "$*" >&2
  exit 1
}

# pid_alive PID COMM: true when PID is a running (not zombie) process whose command name is COMM.
# A process killed with -9 whose parent never reaps it stays a zombie: kill -0 would still succeed.
pid_alive() {
  local pid="$1" comm="$2" stat rest
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  rest="${stat##*) }"
  case "${rest%% *}" in Z | X | x) return 1 ;; esac
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}

# pidfile_pid FILE: the pid in FILE, or nothing.
pidfile_pid() {
  local pid=""
  [ -r "$1" ] && read -r pid <"$1" 2>/dev/null
  [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s' "$pid"
  return 0
}

# stop_pid PID COMM TIMEOUT_S: SIGTERM, wait up to TIMEOUT_S, then SIGKILL. Only touches PID when it
# is a live COMM process.
stop_pid() {
  local pid="$1" comm="$2" timeout="$3" i
  pid_alive "$pid" "$comm" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    pid_alive "$pid" "$comm" || return 0
    sleep 0.1
  done
  log "$comm ($pid) did not stop within ${timeout}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" "$comm" || return 0
    sleep 0.1
  done
  die "$comm ($pid) survived SIGKILL"
}

# stop_pidfile FILE COMM TIMEOUT_S: stops the process named in FILE, then removes FILE.
stop_pidfile() {
  local file="$1" comm="$2" timeout="$3" pid
  pid="$(pidfile_pid "$file")"
  if [ -n "$pid" ] && pid_alive "$pid" "$comm"; then
    log "stopping $comm ($pid)"
    stop_pid "$pid" "$comm" "$timeout"
  fi
  rm -f "$file"
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The comment that marks the deploy user's authorized_keys line written for this state dir.
authorized_key_comment() {
  printf 'titan-test-host:%s' "$STATE"
}

docker_answers() {
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}
