/**
 * The two scripts provisioning installs on a host (POSIX sh, linted with shellcheck by the tests):
 *
 * FIRSTBOOT_SCRIPT (/usr/local/sbin/titan-firstboot APP_DIR DEPLOY_USER MOUNT_POINT), run once by
 * cloud-init as root: lays out the application folder with its owners and modes, locks root's
 * password, loads the host firewall, enables nftables and Docker, and records what it did in
 * /var/lib/titan. On a host without systemd (a container playing a Droplet) it loads the firewall
 * and leaves services to whatever runs them.
 *
 * HOST_HELPER_SCRIPT (/usr/local/sbin/titan-host), the one command the deploy user may run as root
 * (sudoers): the host key rotation that ends trust in the injected first-boot key, the release
 * trust keys, the volume mount, and a status report. Every argument is checked before use.
 */

export const FIRSTBOOT_SCRIPT = `#!/bin/sh
# titan-firstboot APP_DIR DEPLOY_USER MOUNT_POINT: run once by cloud-init (written by action-provision).
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
app=$1 user=$2 mount_point=$3
state=/var/lib/titan
install -d -o root -g root -m 0755 "$state"
printf '%s\\n' "$app" >"$state/app-dir"
printf '%s\\n' "$mount_point" >"$state/volume-mount"

# The application folder, as the deploy expects it (packages/host/src/host-layout.ts).
install -d -o "$user" -g "$user" -m 0750 "$app" "$app/releases" "$app/state"
install -d -o "$user" -g "$user" -m 0700 "$app/shared" "$app/shared/secrets"
install -d -o root -g root -m 0755 "$app/trust"
chown root:root "$app"/trust/*.pem 2>/dev/null || true
chmod 0644 "$app"/trust/*.pem 2>/dev/null || true
[ -e "$app/journal.jsonl" ] || install -o "$user" -g "$user" -m 0640 /dev/null "$app/journal.jsonl"

# No password logins, root's included (DigitalOcean sets one when a Droplet has no SSH key).
passwd --lock root >/dev/null

# The JetStream volume: mounted by cloud-init from fstab (nofail); say so when it is not.
if [ -n "$mount_point" ]; then
  if mountpoint -q "$mount_point"; then
    echo "titan-firstboot: volume mounted at $mount_point"
  else
    echo "titan-firstboot: WARNING: nothing is mounted at $mount_point (is the volume attached?)" >&2
  fi
fi

nft -f /etc/nftables.conf
if [ -d /run/systemd/system ]; then
  systemctl enable nftables.service
  systemctl enable --now docker.service
fi
date -u +%Y-%m-%dT%H:%M:%SZ >"$state/firstboot.done"
echo "titan-firstboot: done"
`;

export const HOST_HELPER_SCRIPT = `#!/bin/sh
# titan-host: what the deploy user may do as root on a Titan host (written by action-provision).
#   titan-host status                  host key, rotation, firstboot, volume, trust keys
#   titan-host rotate-prepare          make the host's own Ed25519 host key; print its public key
#   titan-host rotate-commit SHA256:.. switch sshd to that key (fingerprint checked), drop the injected one
#   titan-host trust-add KEY_ID        install trust/KEY_ID.pem from stdin (an Ed25519 public key)
#   titan-host trust-remove KEY_ID     remove trust/KEY_ID.pem
#   titan-host mount                   mount the JetStream volume from fstab
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077
key=/etc/ssh/ssh_host_ed25519_key
next=/etc/ssh/titan_host_ed25519_key.next
state=/var/lib/titan
fail() { echo "titan-host: $*" >&2; exit 1; }
fingerprint() { ssh-keygen -l -E sha256 -f "$1" | awk '{print $2}'; }
app_dir() { [ -s "$state/app-dir" ] || fail "no $state/app-dir: firstboot did not run"; cat "$state/app-dir"; }
reload_sshd() {
  sshd -t || fail "sshd refuses its configuration; nothing was reloaded"
  if [ -d /run/systemd/system ]; then
    systemctl reload ssh.service
  elif [ -s /run/sshd.pid ]; then
    kill -HUP "$(cat /run/sshd.pid)"
  else
    fail "cannot find sshd to reload (no systemd, no /run/sshd.pid)"
  fi
}
check_key_id() {
  case "$1" in
    ed25519-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) fail "not a release key id: $1" ;;
  esac
}

cmd=\${1:-}
case "$cmd" in
  status)
    echo "hostkey $(fingerprint "$key.pub")"
    echo "hostkeys $(sshd -T 2>/dev/null | grep -c '^hostkey ')"
    if [ -s "$state/host-key-rotated" ]; then echo "rotated $(cat "$state/host-key-rotated")"; else echo "rotated no"; fi
    if [ -s "$state/firstboot.done" ]; then echo "firstboot $(cat "$state/firstboot.done")"; else echo "firstboot no"; fi
    mount_point=$(cat "$state/volume-mount" 2>/dev/null || true)
    if [ -z "$mount_point" ]; then echo "volume none"
    elif mountpoint -q "$mount_point"; then echo "volume mounted $mount_point $(findmnt -n -o SOURCE "$mount_point")"
    else echo "volume unmounted $mount_point"; fi
    app=$(app_dir)
    for pem in "$app"/trust/*.pem; do
      [ -e "$pem" ] || continue
      echo "trust $(basename "$pem" .pem) $(sha256sum "$pem" | awk '{print $1}')"
    done
    ;;
  rotate-prepare)
    [ ! -s "$state/host-key-rotated" ] || fail "the host key was rotated already ($(cat "$state/host-key-rotated"))"
    if [ ! -s "$next" ] || [ ! -s "$next.pub" ]; then
      rm -f "$next" "$next.pub"
      ssh-keygen -q -t ed25519 -N '' -C "$(hostname)" -f "$next"
    fi
    cat "$next.pub"
    ;;
  rotate-commit)
    want=\${2:-}
    case "$want" in SHA256:*) ;; *) fail "rotate-commit needs the SHA256: fingerprint of the prepared key" ;; esac
    if [ -s "$state/host-key-rotated" ] && [ "$(fingerprint "$key.pub")" = "$want" ]; then
      echo "rotated $want"; exit 0
    fi
    [ -s "$next" ] || fail "no prepared key: run rotate-prepare first"
    [ "$(fingerprint "$next.pub")" = "$want" ] || fail "the prepared key is not $want"
    # Renamed over the injected key: from here on sshd and this file know only the host's own key.
    chmod 0600 "$next"; chmod 0644 "$next.pub"
    mv -f "$next.pub" "$key.pub"
    mv -f "$next" "$key"
    for other in /etc/ssh/ssh_host_*_key; do
      [ "$other" = "$key" ] || rm -f "$other" "$other.pub"
    done
    printf '%s\\n' "$want" >"$state/host-key-rotated"
    chmod 0644 "$state/host-key-rotated"
    reload_sshd
    echo "rotated $want"
    ;;
  trust-add)
    id=\${2:-}; check_key_id "$id"
    app=$(app_dir)
    tmp=$(mktemp "$app/trust/.add.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    head -c 4096 >"$tmp"
    openssl pkey -pubin -in "$tmp" -noout 2>/dev/null || fail "stdin is not a PEM public key"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$app/trust/$id.pem"
    trap - EXIT
    echo "trust-added $id"
    ;;
  trust-remove)
    id=\${2:-}; check_key_id "$id"
    app=$(app_dir)
    rm -f "$app/trust/$id.pem"
    echo "trust-removed $id"
    ;;
  mount)
    mount_point=$(cat "$state/volume-mount" 2>/dev/null || true)
    [ -n "$mount_point" ] || fail "this host has no volume mount point"
    mountpoint -q "$mount_point" || mount "$mount_point"
    echo "volume mounted $mount_point $(findmnt -n -o SOURCE "$mount_point")"
    ;;
  *) fail "usage: titan-host status|rotate-prepare|rotate-commit SHA256:...|trust-add KEY_ID|trust-remove KEY_ID|mount" ;;
esac
`;
