#!/bin/sh
# One NATS session of the titan-brain HARD_HALT responder, run by `nc -e` with the connection as
# standard input and output (log lines go to descriptor 3). The NATS client protocol is text:
#   server: INFO {...}                        client: CONNECT {...}, SUB <subject> <sid>, PING
#   server: PING / PONG / +OK / -ERR '...'    client: PONG
#   server: MSG <subject> <sid> [reply] <bytes>, then the payload line
#   client: PUB <reply> <bytes>, then the payload line
# A HARD_HALT is the envelope {"command":<canonical JSON>,"signature":"<hex HMAC-SHA256>"}
# (packages/rollback/src/halt-command.ts). It is obeyed only when, in this order:
#   - the HMAC-SHA256 of the signed bytes with $HMAC_SECRET is the signature (hmac-sha256.sh),
#   - the signed command is a HARD_HALT with a 32-hex nonce,
#   - its issuedAt is at most $TITAN_HALT_MAX_AGE s old (default 120) and at most
#     $TITAN_HALT_MAX_FUTURE s ahead (default 30),
#   - its nonce was never accepted before ($TITAN_HALT_NONCES; an exact replay is refused).
# Then the payload is appended, exactly as received, to $TITAN_HALT_LOG and to standard output, and
# the reply is the signed acknowledgement, bound to the nonce (halt-acknowledgement.ts):
#   {"acknowledgement":{"ack":true,"nonce":"<nonce>","service":"titan-brain","type":"HARD_HALT_ACK"},"signature":"<hex HMAC>"}
# Anything else is refused, said on standard output, and answered {"ack":false,"error":"<why>","service":"titan-brain"}.
# The string comparison of the signature is not constant-time: busybox has no such primitive.
set -u
set -f

subject=${TITAN_HALT_SUBJECT:-titan.cmd.sys.halt}
halt_log=${TITAN_HALT_LOG:-/titan/halts.log}
nonces=${TITAN_HALT_NONCES:-/titan/halt-nonces}
max_age=${TITAN_HALT_MAX_AGE:-120}
max_future=${TITAN_HALT_MAX_FUTURE:-30}
user=${NATS_USER:-brain}
cr=$(printf '\r')

log() {
  printf 'titan-brain halt-responder: %s\n' "$1" >&3
}

send() {
  printf '%s\r\n' "$1"
}

json_escape() {
  printf '%s' "$1" | sed 's/[\\"]/\\&/g'
}

# shellcheck source-path=SCRIPTDIR source=hmac-sha256.sh
. "${0%/*}/hmac-sha256.sh"
hmac_key "${HMAC_SECRET:-}"
work=$(mktemp -d) || { log "cannot create a temporary folder"; exit 1; }
trap 'rm -rf "$work"' EXIT
touch "$nonces"

# check_halt PAYLOAD: sets nonce (accepted) or reason (refused).
check_halt() {
  nonce=
  reason=
  case $1 in
    '{"command":{'*'},"signature":"'*'"}') ;;
    *) reason="not a signed HARD_HALT envelope"; return ;;
  esac
  head=${1%,\"signature\":\"*}
  signed=${head#\{\"command\":}
  signature=${1##*,\"signature\":\"}
  signature=${signature%\"\}}
  case $signature in
    '' | *[!0-9a-f]*) reason="the signature is not hex"; return ;;
  esac
  printf '%s' "$signed" >"$work/signed"
  if [ "$(hmac_hex "$work/signed")" != "$signature" ]; then
    reason="the HMAC signature does not match the command (wrong secret, or the command was altered)"
    return
  fi
  case $signed in
    *',"type":"HARD_HALT"}') ;;
    *) reason="the signed command is not a HARD_HALT"; return ;;
  esac
  rest=${signed#*\"nonce\":\"}
  candidate=${rest%%\"*}
  case $candidate in
    '' | *[!0-9a-f]*) reason="the command has no valid nonce"; return ;;
  esac
  [ "${#candidate}" -eq 32 ] || { reason="the command has no valid nonce"; return; }
  rest=${signed#*\"issuedAt\":\"}
  issued=${rest%%\"*}
  # `YYYY-MM-DD hh:mm:ss` is a form both busybox and GNU date read.
  if ! issued_at=$(date -u -d "$(printf '%s' "${issued%%.*}" | tr T ' ')" +%s 2>/dev/null); then
    reason="the command has no valid issuedAt"
    return
  fi
  age=$(($(date +%s) - issued_at))
  if [ "$age" -gt "$max_age" ]; then
    reason="the command was issued $age s ago, more than the $max_age s a HARD_HALT stays valid"
    return
  fi
  if [ "$age" -lt "-$max_future" ]; then
    reason="the command is dated $((-age)) s in the future"
    return
  fi
  if grep -qx "$candidate" "$nonces"; then
    reason="nonce $candidate was accepted before: a replay"
    return
  fi
  nonce=$candidate
}

IFS= read -r line || { log "the server closed the connection before its INFO"; exit 1; }
line=${line%"$cr"}
case $line in
  INFO\ *) ;;
  *) log "unexpected greeting from the server: $(printf '%s' "$line" | cut -c1-80)"; exit 1 ;;
esac

send "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\"name\":\"titan-brain-halt-responder\",\"lang\":\"sh\",\"version\":\"1.0.0\",\"protocol\":0,\"user\":\"$(json_escape "$user")\",\"pass\":\"$(json_escape "$NATS_PASSWORD")\"}"
send "SUB $subject 1"
send "PING"

subscribed=no
while IFS= read -r line; do
  line=${line%"$cr"}
  case $line in
    PING)
      send PONG
      ;;
    PONG)
      if [ "$subscribed" = no ]; then
        subscribed=yes
        log "connected as $user, subscribed to $subject"
      fi
      ;;
    +OK | INFO\ *)
      ;;
    -ERR*)
      log "server error: $line"
      ;;
    MSG\ *)
      # shellcheck disable=SC2086 # split the control line into its fields on purpose (globbing is off)
      set -- $line
      reply=
      if [ "$#" -eq 5 ]; then reply=$4; fi
      IFS= read -r payload || break
      payload=${payload%"$cr"}
      check_halt "$payload"
      if [ -n "$nonce" ]; then
        printf '%s\n' "$nonce" >>"$nonces"
        printf '%s\n' "$payload" >>"$halt_log"
        printf '%s\n' "$payload" >&3
        log "HARD_HALT received (nonce $nonce): trading halted"
        body="{\"ack\":true,\"nonce\":\"$nonce\",\"service\":\"titan-brain\",\"type\":\"HARD_HALT_ACK\"}"
        printf '%s' "$body" >"$work/ack"
        answer="{\"acknowledgement\":$body,\"signature\":\"$(hmac_hex "$work/ack")\"}"
      else
        log "refused a message on $2: $reason"
        answer="{\"ack\":false,\"error\":\"$(json_escape "$reason")\",\"service\":\"titan-brain\"}"
      fi
      if [ -n "$reply" ]; then
        send "PUB $reply ${#answer}"
        send "$answer"
      fi
      ;;
    *)
      log "unexpected line from the server: $(printf '%s' "$line" | cut -c1-80)"
      ;;
  esac
done
log "the connection ended"
