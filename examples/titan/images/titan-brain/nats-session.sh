#!/bin/sh
# One NATS session of the titan-brain HARD_HALT responder, run by `nc -e` with the connection as
# standard input and output (log lines go to descriptor 3). The NATS client protocol is text:
#   server: INFO {...}                        client: CONNECT {...}, SUB <subject> <sid>, PING
#   server: PING / PONG / +OK / -ERR '...'    client: PONG
#   server: MSG <subject> <sid> [reply] <bytes>, then the payload line
#   client: PUB <reply> <bytes>, then the payload line
# For each HARD_HALT on the halt subject it appends the payload, exactly as received, as one line
# to $TITAN_HALT_LOG and to standard output, then replies on the request's reply subject with
#   {"ack":true,"nonce":"<the command's nonce>","service":"titan-brain"}
# The HMAC signature is not checked here (busybox has no HMAC); the payload is kept byte for byte so
# that it can be checked from the log. Anything else on the subject gets {"ack":false,...}.
set -u
set -f

subject=${TITAN_HALT_SUBJECT:-titan.cmd.sys.halt}
halt_log=${TITAN_HALT_LOG:-/titan/halts.log}
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
      nonce=
      case $payload in
        '{"command":{'*'"type":"HARD_HALT"'*)
          rest=${payload#*\"nonce\":\"}
          nonce=${rest%%\"*}
          case $nonce in
            '' | *[!0-9a-f]*) nonce= ;;
          esac
          ;;
      esac
      if [ -n "$nonce" ]; then
        printf '%s\n' "$payload" >> "$halt_log"
        printf '%s\n' "$payload" >&3
        log "HARD_HALT received (nonce $nonce): trading halted"
        answer="{\"ack\":true,\"nonce\":\"$nonce\",\"service\":\"titan-brain\"}"
      else
        log "ignored a message on $2 that is not a HARD_HALT command"
        answer='{"ack":false,"error":"not a HARD_HALT command","service":"titan-brain"}'
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
