#!/bin/sh
# titan-check-bundle BUNDLE_DIR TRUST_DIR [RELEASE_ID]: the host's own check of a Titan release
# bundle, with openssl, sha256sum, coreutils, grep and sed only (no node, no jq, no find). Install,
# the host's re-verification (verify-release.sh, lib/verify.sh) and the guard's return run it
# before a release may become `current`; packages/release/README.md walks through the same steps
# by hand. TRUST_DIR holds the trusted release public keys: *.pem (PEM "PUBLIC KEY", Ed25519) or
# *.pub (base64 of the raw 32-byte key, converted here), each named after its key id;
# TRUST_DIR/revoked/ holds revoked keys. Checks, in order: manifest.sig is an Ed25519 signature of
# manifest.json's exact bytes by the trusted key the manifest's keyId names, and that key is not
# revoked; manifest.json is one canonical line whose files entries are well-formed with safe paths;
# the bundle holds regular files and folders only, exactly the listed files plus manifest.json and
# manifest.sig; each file has its listed size and sha256 (sha256sum -c --strict); the release id is
# RELEASE_ID when given. Success: exit 0, one line "verified <release id> <key file>" on stdout.
# Failure: exit 1, one line "verify-release: <reason>" on stderr. It reads nothing from standard
# input, so it can be fed to 'sh -s -- BUNDLE_DIR TRUST_DIR' on stdin; it sources no library, so
# this file runs as it is.
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
umask 077

fail() {
  printf 'verify-release: %s\n' "$1" >&2
  exit 1
}

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  fail "usage: verify-release BUNDLE_DIR TRUST_DIR [RELEASE_ID]"
fi
bundle=$1
trust=$2
expected_id=
if [ "$#" -eq 3 ]; then expected_id=$3; fi

[ -d "$trust" ] || fail "trust folder $trust does not exist"
trust=$(cd "$trust" && pwd -P) || fail "trust folder cannot be entered"
[ -d "$bundle" ] || fail "bundle folder $bundle does not exist"
cd "$bundle" || fail "bundle folder $bundle cannot be entered"

tmp=$(mktemp -d) || fail "cannot create a temporary folder"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# 1. The signature, by the trusted key the manifest names: its keyId is the base name of a key file
#    of the trust folder (<keyId>.pem, or <keyId>.pub: base64 of the raw 32 bytes). A key whose
#    bytes are also in TRUST_DIR/revoked/ (moved there to revoke it) verifies nothing.
for name in manifest.json manifest.sig; do
  if [ -L "$name" ] || [ ! -f "$name" ]; then fail "$name is missing or not a regular file"; fi
done
sig_size=$(wc -c < manifest.sig | tr -d ' ')
[ "$sig_size" = 64 ] || fail "manifest.sig is $sig_size bytes; an Ed25519 signature is 64 raw bytes"
keys=0
for key in "$trust"/*.pem "$trust"/*.pub; do
  if [ -f "$key" ]; then keys=$((keys + 1)); fi
done
[ "$keys" -gt 0 ] || fail "no trusted key in $trust (*.pem or *.pub)"
# (manifest.json ends without a newline: command substitution gives sed a terminated line.)
key_id=$(sed -n 's/.*},"keyId":"\([A-Za-z0-9][A-Za-z0-9._:-]*\)","policy":{.*/\1/p' manifest.json)
[ -n "$key_id" ] || fail "manifest.json names no valid keyId"
# as_pem KEY OUT: KEY as a PEM Ed25519 public key in OUT (a .pem is checked, a .pub converted).
as_pem() {
  case $1 in
    *.pub)
      raw=$(tr -d ' \r\n' < "$1")
      case $raw in
        *[!A-Za-z0-9+/=]* | '') return 1 ;;
      esac
      [ "$(printf '%s' "$raw" | wc -c)" -eq 44 ] || return 1
      printf '%s\n%s\n%s\n' '-----BEGIN PUBLIC KEY-----' "MCowBQYDK2VwAyEA$raw" '-----END PUBLIC KEY-----' > "$2"
      ;;
    *) cat "$1" > "$2" ;;
  esac
  openssl pkey -pubin -in "$2" -noout -text 2>/dev/null | grep -q '^ED25519 Public-Key'
}
# key_sum PEM: sha256 of the key's DER bytes, to compare keys whatever their files look like.
key_sum() {
  openssl pkey -pubin -in "$1" -outform DER -out "$tmp/key.der" 2>/dev/null && sha256sum < "$tmp/key.der" | sed 's/ .*//'
}
for revoked in "$trust/revoked/$key_id.pem" "$trust/revoked/$key_id.pub"; do
  if [ -f "$revoked" ]; then fail "manifest.json names key $key_id, which is revoked ($revoked)"; fi
done
signer=
for key in "$trust/$key_id.pem" "$trust/$key_id.pub"; do
  if [ -f "$key" ]; then signer=$key; break; fi
done
[ -n "$signer" ] || fail "manifest.json names key $key_id, which is not one of the $keys trusted key(s) in $trust (no $key_id.pem or $key_id.pub)"
as_pem "$signer" "$tmp/signer.pem" || fail "$signer is not an Ed25519 public key"
signer_sum=$(key_sum "$tmp/signer.pem") || fail "$signer cannot be read as a public key"
for revoked in "$trust"/revoked/*.pem "$trust"/revoked/*.pub; do
  [ -f "$revoked" ] || continue
  as_pem "$revoked" "$tmp/revoked.pem" || continue
  if [ "$(key_sum "$tmp/revoked.pem")" = "$signer_sum" ]; then
    fail "manifest.json names key $key_id, whose key is revoked: $signer holds the same key as $revoked"
  fi
done
if ! openssl pkeyutl -verify -pubin -inkey "$tmp/signer.pem" -rawin -in manifest.json -sigfile manifest.sig >/dev/null 2>&1; then
  fail "manifest.sig does not verify manifest.json against $signer, the trusted key its keyId ($key_id) names"
fi

# 2. The manifest: one canonical line; its files entries, each {"path":"...","sha256":"...","size":N}.
[ "$(wc -l < manifest.json | tr -d ' ')" = 0 ] || fail "manifest.json is not canonical JSON (it has a line break)"
grep -q -e ',"schemaVersion":1}$' -e ',"schemaVersion":2,"stack":{.*}$' manifest.json || fail "manifest.json is not schemaVersion 1 or 2"
release_id=$(sed -n 's/.*},"releaseId":"\([A-Za-z0-9][A-Za-z0-9._-]*\)","runUrl":".*/\1/p' manifest.json)
[ -n "$release_id" ] || fail "manifest.json has no valid releaseId"
if [ -n "$expected_id" ] && [ "$release_id" != "$expected_id" ]; then
  fail "manifest.json is release $release_id, not $expected_id"
fi
# (manifest.json ends without a newline: command substitution gives sed a terminated line to split.)
files=$(sed -n 's/.*"files":\[\([^]]*\)\],"git":{.*/\1/p' manifest.json)
[ -n "$files" ] || fail "manifest.json has no files list"
printf '%s\n' "$files" | sed 's/},{/}\
{/g' > "$tmp/entries"
entry='^\{"path":"[A-Za-z0-9._/-]+","sha256":"[0-9a-f]{64}","size":(0|[1-9][0-9]*)\}$'
if grep -v -E -e "$entry" "$tmp/entries" > "$tmp/bad"; then
  fail "manifest.json has a malformed files entry: $(head -c 200 "$tmp/bad" | head -n 1)"
fi
sed 's/^{"path":"\([^"]*\)",.*/\1/' "$tmp/entries" > "$tmp/listed"
bad=$(grep -e '^/' -e '/$' -e '//' -e '^\.\{1,2\}/' -e '/\.\{1,2\}/' -e '/\.\{1,2\}$' -e '^\.\{1,2\}$' -e '^manifest\.json$' -e '^manifest\.sig$' "$tmp/listed" | head -n 1) || true
[ -z "$bad" ] || fail "manifest.json lists an unsafe or reserved path: $bad"
dup=$(sort "$tmp/listed" | uniq -d | head -n 1)
[ -z "$dup" ] || fail "manifest.json lists $dup twice"

# 3. The bundle's tree: regular files and folders only, safe names, no empty folder.
walk() (
  found=no
  for item in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$item" ] || [ -L "$item" ] || continue
    found=yes
    case $item in
      *[!A-Za-z0-9._/-]*) fail "the bundle holds a name outside [A-Za-z0-9._-]: $(printf '%s' "$item" | tr -c 'A-Za-z0-9._/-' '?')" ;;
    esac
    rel=$(printf '%s\n' "$item" | sed 's|^\./||')
    if [ -L "$item" ]; then
      fail "$rel is a symbolic link; a bundle holds regular files only"
    elif [ -d "$item" ]; then
      walk "$item" || exit 1
    elif [ -f "$item" ]; then
      printf '%s\n' "$rel"
    else
      fail "$rel is not a regular file"
    fi
  done
  if [ "$found" = no ] && [ "$1" != . ]; then
    fail "$(printf '%s\n' "$1" | sed 's|^\./||')/ is an empty folder the manifest does not account for"
  fi
)
walk . > "$tmp/tree" || exit 1
sort "$tmp/tree" > "$tmp/present"
{ cat "$tmp/listed"; printf 'manifest.json\nmanifest.sig\n'; } | sort > "$tmp/expected"
extra=$(comm -23 "$tmp/present" "$tmp/expected" | head -n 1)
[ -z "$extra" ] || fail "$extra is in the bundle but not listed in manifest.json"
missing=$(comm -13 "$tmp/present" "$tmp/expected" | head -n 1)
[ -z "$missing" ] || fail "$missing is listed in manifest.json but missing from the bundle"

# 4. Sizes, then contents.
sed 's/^{"path":"\([^"]*\)","sha256":"[0-9a-f]*","size":\([0-9]*\)}$/\1 \2/' "$tmp/entries" > "$tmp/sizes"
while read -r path size; do
  actual=$(wc -c < "$path" | tr -d ' ')
  [ "$actual" = "$size" ] || fail "$path is $actual bytes; manifest.json says $size"
done < "$tmp/sizes"
sed 's/^{"path":"\([^"]*\)","sha256":"\([0-9a-f]*\)",.*/\2  \1/' "$tmp/entries" > "$tmp/sums"
if ! sha256sum -c --strict --quiet "$tmp/sums" > "$tmp/check" 2>&1; then
  bad=$(sed -n 's/^\([A-Za-z0-9._/-]*\): FAILED.*/\1/p' "$tmp/check" | head -n 1)
  [ -n "$bad" ] || bad=$(head -n 1 "$tmp/check")
  fail "$bad does not match its sha256 in manifest.json"
fi

printf 'verified %s %s\n' "$release_id" "$signer"
