import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadTestHost } from '@titan/test-host/test-host';
import { renderUserData, USER_DATA_LIMIT, UserDataTooLargeError } from '../src/cloud-config.js';
import { nftablesConf, sshdDropIn } from '../src/host-files.js';
import { FIRSTBOOT_SCRIPT, HOST_HELPER_SCRIPT } from '../src/host-scripts.js';
import type { HostSpec } from '../src/host-spec.js';
import { generateInjectedHostKey } from '../src/injected-host-key.js';

const dir = mkdtempSync(join(tmpdir(), 'titan-cloud-config-'));
const deployKey = (() => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy@test', '-f', join(dir, 'deploy')]);
  return execFileSync('cat', [join(dir, 'deploy.pub')], { encoding: 'utf8' }).trim();
})();
const spec: HostSpec = {
  hostname: 'titan-prod',
  deployUser: 'deploy',
  deployPublicKey: deployKey,
  sshPort: 22,
  sshSources: ['203.0.113.0/24', '2001:db8::/32'],
  appDir: '/opt/titan',
  releaseKeys: [{ id: 'ed25519-0123456789abcdef', pem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAbm8rMeM0WchXHu7fPXwoYNMkKxjfugcIm0fXPZ6Ah9s=\n-----END PUBLIC KEY-----\n' }],
  volume: { name: 'titan-prod-jetstream', mountPoint: '/var/lib/docker/volumes/titan_titan-jetstream-data' },
  dockerSource: 'debian',
  debianCodename: 'trixie',
};

/** The cached Droplet root of the test host (scripts/test-host/droplet-root), whose cloud-init is Debian 13's. */
function dropletRoot(): string | undefined {
  const base = join(loadTestHost().stateDir, 'droplet-root');
  if (!existsSync(base)) return undefined;
  const built = readdirSync(base).map((n) => join(base, n)).find((p) => existsSync(join(p, '.titan-complete')));
  return built;
}

function schema(file: string, root?: string): { status: number | null; out: string } {
  const run = root === undefined
    ? spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' })
    : spawnSync('chroot', [root, 'cloud-init', 'schema', '--config-file', file.replace(root, '')], { encoding: 'utf8' });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

describe('the user data', () => {
  for (const dockerSource of ['debian', 'docker'] as const) {
    it(`is valid cloud-config for Debian's cloud-init 22.4 and 25.1, and under 64 KiB (Docker from ${dockerSource})`, () => {
      const injected = generateInjectedHostKey();
      const text = renderUserData({ ...spec, dockerSource }, injected, { upgradePackages: true });
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_LIMIT);
      expect(text.startsWith('#cloud-config\n')).toBe(true);
      const file = join(dir, `user-data-${dockerSource}`);
      writeFileSync(file, text);
      const host = schema(file);
      expect(host.out).toContain('Valid cloud-config');
      expect(host.status).toBe(0);
      const root = dropletRoot();
      expect(root, 'scripts/test-host/up builds the Droplet root').toBeDefined();
      const inRoot = join(root ?? '', 'tmp', `titan-user-data-${dockerSource}`);
      writeFileSync(inRoot, text);
      const droplet = schema(inRoot, root);
      expect(droplet.out).toMatch(/Valid schema|Valid cloud-config/);
      expect(droplet.status).toBe(0);

      const config = parse(text) as Record<string, unknown>;
      expect(config.ssh_keys).toEqual({ ed25519_private: injected.privateKey, ed25519_public: injected.publicKey });
      expect(config.ssh_genkeytypes).toEqual(['ed25519']);
      expect(config.disable_root).toBe(true);
      expect(config.ssh_pwauth).toBe(false);
      expect(text.match(/PRIVATE KEY-----/g)).toHaveLength(2);
      expect((config.users as { name: string; ssh_authorized_keys: string[]; groups: string[] }[])[0]).toMatchObject({ name: 'deploy', ssh_authorized_keys: [deployKey], groups: ['docker'], lock_passwd: true });
      expect(config.packages).toEqual(dockerSource === 'debian'
        ? ['docker.io', 'docker-cli', 'docker-compose', 'nftables', 'sudo', 'openssl', 'ca-certificates']
        : ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-compose-plugin', 'nftables', 'sudo', 'openssl', 'ca-certificates']);
      expect(config.mounts).toEqual([['/dev/disk/by-id/scsi-0DO_Volume_titan-prod-jetstream', spec.volume?.mountPoint, 'ext4', 'defaults,nofail,discard,noatime,x-systemd.before=docker.service', '0', '2']]);
      const files = (config.write_files as { path: string; permissions: string }[]).map((f) => `${f.path} ${f.permissions}`);
      expect(files).toEqual([
        '/etc/ssh/sshd_config.d/00-titan.conf 0644',
        '/etc/docker/daemon.json 0644',
        '/etc/nftables.conf 0755',
        '/usr/local/sbin/titan-host 0755',
        '/usr/local/sbin/titan-firstboot 0755',
        '/etc/sudoers.d/titan-host 0440',
        '/opt/titan/trust/ed25519-0123456789abcdef.pem 0644',
      ]);
    });
  }

  it('refuses to exceed DigitalOcean\'s 64 KiB, naming the size', () => {
    const many = Array.from({ length: 700 }, (_, i) => ({ id: `ed25519-${i.toString(16).padStart(16, '0')}`, pem: spec.releaseKeys[0]?.pem ?? '' }));
    expect(() => renderUserData({ ...spec, releaseKeys: many }, generateInjectedHostKey(), { upgradePackages: false })).toThrow(UserDataTooLargeError);
    expect(() => renderUserData({ ...spec, releaseKeys: many }, generateInjectedHostKey(), { upgradePackages: false })).toThrow(/over DigitalOcean's limit of 65536/);
  });
});

describe('the host files', () => {
  it('sshd accepts the drop-in, and sshd -T shows the hardening', () => {
    const hostKey = join(dir, 'host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const config = join(dir, 'sshd_config');
    writeFileSync(config, `${sshdDropIn({ ...spec, sshPort: 2200 }).replace('HostKey /etc/ssh/ssh_host_ed25519_key', `HostKey ${hostKey}`)}PidFile ${join(dir, 'sshd.pid')}\n`);
    execFileSync('/usr/sbin/sshd', ['-t', '-f', config]);
    const effective = execFileSync('/usr/sbin/sshd', ['-T', '-f', config], { encoding: 'utf8' });
    for (const line of ['port 2200', 'permitrootlogin no', 'passwordauthentication no', 'kbdinteractiveauthentication no', 'pubkeyauthentication yes', 'authenticationmethods publickey', 'allowusers deploy', 'clientaliveinterval 30', 'clientalivecountmax 4', 'allowtcpforwarding local', 'permitopen 127.0.0.1:* [::1]:*', 'allowagentforwarding no', 'x11forwarding no', 'permittunnel no', 'allowstreamlocalforwarding no']) {
      expect(effective.split('\n')).toContain(line);
    }
    expect(effective.split('\n').filter((l) => l.startsWith('hostkey '))).toEqual([`hostkey ${hostKey}`]);
  });

  it('nft accepts the host firewall, which drops all inbound but SSH from the ranges, 80 and 443', () => {
    const file = join(dir, 'nftables.conf');
    const text = nftablesConf(spec);
    writeFileSync(file, text);
    // A network namespace of its own: loaded for real, leaving the machine's rules alone.
    const listed = execFileSync('unshare', ['--net', 'sh', '-c', `nft -f ${file} && nft -f ${file} && nft list table inet titan_host`], { encoding: 'utf8' });
    expect(listed).toContain('policy drop;');
    expect(listed).toMatch(/ip saddr 203\.0\.113\.0\/24 tcp dport 22 accept/);
    expect(listed).toMatch(/ip6 saddr 2001:db8::\/32 tcp dport 22 accept/);
    expect(listed).toMatch(/tcp dport \{ 80, 443 \} accept/);
    const sshLines = listed.split('\n').filter((l) => l.includes('dport 22 '));
    expect(sshLines).toHaveLength(2);
    expect(sshLines.every((l) => l.includes(' saddr '))).toBe(true);
  });

  it('the host scripts pass shellcheck', () => {
    for (const [name, script] of Object.entries({ FIRSTBOOT_SCRIPT, HOST_HELPER_SCRIPT })) {
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, script);
      const run = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
      expect(`${name}: ${run.stdout}`).toBe(`${name}: `);
      expect(run.status).toBe(0);
    }
  });
});
