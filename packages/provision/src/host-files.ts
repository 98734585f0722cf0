/**
 * The configuration files provisioning writes on a host: the sshd drop-in, Docker's daemon.json
 * (log rotation), the nftables host firewall, the sudoers rule for the host helper. Pure text, so
 * tests read them as the host will.
 */
import { HOST_PATHS, isIpv6Cidr, type HostSpec } from './host-spec.js';

/**
 * sshd, hardened. Debian's sshd_config includes sshd_config.d/*.conf first and sshd keeps the
 * first value it reads, so this file (00-) wins over everything after it. One HostKey: sshd offers
 * only the host's own key, never a second one a client could be steered to.
 */
export function sshdDropIn(spec: HostSpec): string {
  return [
    '# Titan host SSH (written by action-provision at first boot). Key login as the deploy user only.',
    `Port ${spec.sshPort}`,
    `HostKey ${HOST_PATHS.hostKey}`,
    'PermitRootLogin no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitEmptyPasswords no',
    'PubkeyAuthentication yes',
    'AuthenticationMethods publickey',
    `AllowUsers ${spec.deployUser}`,
    'UsePAM yes',
    '# A session whose runner died ends within two minutes, so nothing it held (the deploy lock) outlives it.',
    'ClientAliveInterval 30',
    'ClientAliveCountMax 4',
    'TCPKeepAlive no',
    '# Local forwarding to the host loopback only: what verify and rollback reach the stack through.',
    'AllowTcpForwarding local',
    'PermitOpen 127.0.0.1:* [::1]:*',
    'AllowStreamLocalForwarding no',
    'AllowAgentForwarding no',
    'GatewayPorts no',
    'X11Forwarding no',
    'PermitTunnel no',
    'PermitUserEnvironment no',
    'PermitUserRC no',
    'MaxAuthTries 3',
    'LoginGraceTime 30',
    'MaxSessions 64',
    'MaxStartups 10:30:60',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** Docker's log rotation (H4): no container log grows without bound. */
export function daemonJson(): string {
  return `${JSON.stringify({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '5' } }, null, 2)}\n`;
}

/**
 * The host firewall: SSH from the allowed ranges, HTTP and HTTPS from anywhere, ICMP needed for
 * path MTU and neighbour discovery, nothing else inbound. Its own table, replaced as a whole on
 * every load, so Docker's tables stay as Docker made them.
 */
export function nftablesConf(spec: HostSpec): string {
  const v4 = spec.sshSources.filter((c) => !isIpv6Cidr(c));
  const v6 = spec.sshSources.filter(isIpv6Cidr);
  const lines = [
    '#!/usr/sbin/nft -f',
    '# Titan host firewall (written by action-provision). Inbound: SSH from the allowed ranges,',
    '# HTTP and HTTPS from anywhere, nothing else. Outbound is open. Docker keeps its own tables.',
    'table inet titan_host',
    'delete table inet titan_host',
    'table inet titan_host {',
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iif "lo" accept',
    '    ct state established,related accept',
    '    ct state invalid drop',
    '    ip protocol icmp icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept',
    '    ip6 nexthdr ipv6-icmp accept',
  ];
  if (v4.length > 0) lines.push(`    ip saddr { ${v4.join(', ')} } tcp dport ${spec.sshPort} accept`);
  if (v6.length > 0) lines.push(`    ip6 saddr { ${v6.join(', ')} } tcp dport ${spec.sshPort} accept`);
  lines.push('    tcp dport { 80, 443 } accept', '  }', '}', '');
  return lines.join('\n');
}

/** The deploy user may run the host helper as root, and nothing else. */
export function sudoersRule(spec: HostSpec): string {
  return `# Titan host helper (written by action-provision): the only command ${spec.deployUser} may run as root.\n${spec.deployUser} ALL=(root) NOPASSWD: ${HOST_PATHS.helper}\n`;
}
