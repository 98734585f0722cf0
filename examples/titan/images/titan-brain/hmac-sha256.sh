# shellcheck shell=sh
# HMAC-SHA256 (RFC 2104) in POSIX sh over sha256sum, od and printf: what busybox has. Sourced by
# nats-session.sh. The key's bytes are XORed with the inner and outer pads once (hmac_key); each
# message is hashed as sha256((key ^ opad) || sha256((key ^ ipad) || message)). Bytes travel as
# printf formats of octal escapes (`\066...`), so NUL and every other byte value pass unchanged.
# Checked against node:crypto in packages/rollback/test/brain-halt-responder.test.ts.

# hmac_key KEY: prepares the padded key (a key longer than the 64-byte block is hashed first).
hmac_key() {
  key_hex=$(printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n')
  if [ "${#key_hex}" -gt 128 ]; then key_hex=$(printf '%s' "$1" | sha256sum | cut -c1-64); fi
  hmac_ipad=
  hmac_opad=
  count=0
  for pair in $(printf '%s' "$key_hex" | sed 's/../& /g'); do
    byte=$((0x$pair))
    hmac_ipad="$hmac_ipad$(printf '\\%03o' $((byte ^ 54)))"
    hmac_opad="$hmac_opad$(printf '\\%03o' $((byte ^ 92)))"
    count=$((count + 1))
  done
  while [ "$count" -lt 64 ]; do
    hmac_ipad="$hmac_ipad\\066"
    hmac_opad="$hmac_opad\\134"
    count=$((count + 1))
  done
}

# hmac_hex FILE: the HMAC of the file's bytes, 64 lower-case hex digits.
hmac_hex() {
  # shellcheck disable=SC2059 # the formats are the padded key's bytes as octal escapes, on purpose
  inner=$({ printf "$hmac_ipad"; cat "$1"; } | sha256sum | cut -c1-64)
  inner_bytes=
  for pair in $(printf '%s' "$inner" | sed 's/../& /g'); do
    inner_bytes="$inner_bytes$(printf '\\%03o' $((0x$pair)))"
  done
  # shellcheck disable=SC2059 # as above
  { printf "$hmac_opad"; printf "$inner_bytes"; } | sha256sum | cut -c1-64
}
