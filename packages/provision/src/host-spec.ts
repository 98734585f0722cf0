/**
 * What a Titan host must be, as provisioning lays it out at first boot (cloud-init) and checks on
 * every run after (over the pinned SSH connection). The same facts render the user data, the host
 * firewall and the checks, so they cannot disagree.
 */
export type DockerSource = 'debian' | 'docker';

export interface TrustedReleaseKey {
  /** `ed25519-<16 hex>`, the file name under trust/ (packages/release's releaseKeyId). */
  readonly id: string;
  /** PEM "PUBLIC KEY", as the host verifies with it. */
  readonly pem: string;
}

export interface JetStreamVolumeMount {
  /** The DigitalOcean volume name: the disk appears as /dev/disk/by-id/scsi-0DO_Volume_<name>. */
  readonly name: string;
  readonly mountPoint: string;
}

export interface HostSpec {
  readonly hostname: string;
  readonly deployUser: string;
  /** One OpenSSH public key line (`ssh-ed25519 AAAA... comment`). */
  readonly deployPublicKey: string;
  readonly sshPort: number;
  /** CIDR ranges allowed to reach SSH (IPv4 and IPv6). */
  readonly sshSources: readonly string[];
  readonly appDir: string;
  readonly releaseKeys: readonly TrustedReleaseKey[];
  readonly volume?: JetStreamVolumeMount;
  /** Where the engine and the Compose plugin come from: Debian's archive or Docker's own. */
  readonly dockerSource: DockerSource;
  /** The Debian release of the image (`bookworm`, `trixie`), for Docker's apt source. */
  readonly debianCodename: string;
}

/** The fixed places provisioning uses on every host. */
export const HOST_PATHS = {
  sshdDropIn: '/etc/ssh/sshd_config.d/00-titan.conf',
  hostKey: '/etc/ssh/ssh_host_ed25519_key',
  daemonJson: '/etc/docker/daemon.json',
  nftables: '/etc/nftables.conf',
  helper: '/usr/local/sbin/titan-host',
  firstboot: '/usr/local/sbin/titan-firstboot',
  sudoers: '/etc/sudoers.d/titan-host',
  stateDir: '/var/lib/titan',
} as const;

/** The Debian release an image slug runs (`debian-13-x64` → trixie). */
export function debianCodename(image: string): string | undefined {
  const match = /^debian-(\d+)-/.exec(image);
  return match === null ? undefined : ({ '11': 'bullseye', '12': 'bookworm', '13': 'trixie' } as Record<string, string>)[match[1] ?? ''];
}

export function isIpv6Cidr(cidr: string): boolean {
  return cidr.includes(':');
}
