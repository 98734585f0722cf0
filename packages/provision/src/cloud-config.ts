/**
 * The user data a new Droplet boots with: cloud-config that cloud-init runs once, before sshd
 * starts (host key, users, sshd drop-in, firewall, Docker's log rotation), then in its final stage
 * (packages, the firstboot script). It carries the injected first-boot host key and nothing else
 * secret: user data stays readable from the metadata service by any process on the Droplet, and
 * that key is worthless once the host has rotated to its own (see host-key-rotation.ts).
 */
import { stringify } from 'yaml';
import { daemonJson, nftablesConf, sshdDropIn, sudoersRule } from './host-files.js';
import { FIRSTBOOT_SCRIPT, HOST_HELPER_SCRIPT } from './host-scripts.js';
import { HOST_PATHS, type HostSpec } from './host-spec.js';
import type { InjectedHostKey } from './injected-host-key.js';

/** DigitalOcean's limit on user data. */
export const USER_DATA_LIMIT = 64 * 1024;

/** Docker's apt signing key (download.docker.com/linux/debian/gpg). */
export const DOCKER_APT_KEY_FINGERPRINT = '9DC858229FC7DD38854AE2D88D81803C0EBFCD88';

export class UserDataTooLargeError extends Error {
  override readonly name = 'UserDataTooLargeError';
  readonly bytes: number;
  constructor(bytes: number) {
    super(`the user data is ${bytes} bytes, over DigitalOcean's limit of ${USER_DATA_LIMIT}: fewer or shorter release keys or SSH ranges`);
    this.bytes = bytes;
  }
}

export function dockerPackages(spec: HostSpec): string[] {
  return spec.dockerSource === 'debian'
    ? ['docker.io', 'docker-cli', 'docker-compose']
    : ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-compose-plugin'];
}

export function renderUserData(spec: HostSpec, injected: InjectedHostKey, options: { upgradePackages: boolean }): string {
  const file = (path: string, content: string, permissions: string) => ({ path, content, owner: 'root:root', permissions });
  const config: Record<string, unknown> = {
    hostname: spec.hostname,
    preserve_hostname: false,
    manage_etc_hosts: true,
    // The first boot's host key is the one the action generated and pins; no other is made.
    ssh_deletekeys: true,
    ssh_genkeytypes: ['ed25519'],
    ssh_keys: { ed25519_private: injected.privateKey, ed25519_public: injected.publicKey },
    disable_root: true,
    ssh_pwauth: false,
    // cloud-init creates the docker group for the user; Docker's package then finds it.
    users: [
      {
        name: spec.deployUser,
        gecos: 'Titan deploy',
        shell: '/bin/bash',
        groups: ['docker'],
        lock_passwd: true,
        ssh_authorized_keys: [spec.deployPublicKey],
      },
    ],
    write_files: [
      file(HOST_PATHS.sshdDropIn, sshdDropIn(spec), '0644'),
      file(HOST_PATHS.daemonJson, daemonJson(), '0644'),
      file(HOST_PATHS.nftables, nftablesConf(spec), '0755'),
      file(HOST_PATHS.helper, HOST_HELPER_SCRIPT, '0755'),
      file(HOST_PATHS.firstboot, FIRSTBOOT_SCRIPT, '0755'),
      file(HOST_PATHS.sudoers, sudoersRule(spec), '0440'),
      ...spec.releaseKeys.map((key) => file(`${spec.appDir}/trust/${key.id}.pem`, key.pem, '0644')),
    ],
    package_update: true,
    package_upgrade: options.upgradePackages,
    packages: [...dockerPackages(spec), 'nftables', 'sudo', 'openssl', 'ca-certificates'],
    runcmd: [[HOST_PATHS.firstboot, spec.appDir, spec.deployUser, spec.volume?.mountPoint ?? '']],
  };
  if (spec.dockerSource === 'docker') {
    config.apt = {
      sources: {
        'docker.list': {
          source: `deb [signed-by=$KEY_FILE] https://download.docker.com/linux/debian ${spec.debianCodename} stable`,
          keyid: DOCKER_APT_KEY_FINGERPRINT,
          keyserver: 'keyserver.ubuntu.com',
        },
      },
    };
  }
  if (spec.volume !== undefined) {
    config.mounts = [[`/dev/disk/by-id/scsi-0DO_Volume_${spec.volume.name}`, spec.volume.mountPoint, 'ext4', 'defaults,nofail,discard,noatime,x-systemd.before=docker.service', '0', '2']];
  }
  const text = `#cloud-config\n# Titan host ${spec.hostname}, written by action-provision. The host key below is used for the first\n# boot only: the action replaces it with the host's own over the connection pinned to it.\n${stringify(config, { lineWidth: 0, blockQuote: 'literal' })}`;
  const bytes = Buffer.byteLength(text);
  if (bytes > USER_DATA_LIMIT) throw new UserDataTooLargeError(bytes);
  return text;
}
