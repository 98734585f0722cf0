/**
 * action-provision end to end: the bundled action against the spec-validated DigitalOcean API
 * double, a GitHub secrets double, and a Droplet stand-in that boots the user data the double
 * received with Debian 13's own cloud-init (scripts/test-host/droplet). One boot is shared by the
 * tests of this file; they then look at the host as a user would (OpenSSH client, the stand-in's
 * console), run the action again, and deploy the example release onto it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';
import { REPOSITORY_ROOT, runActionBundle, startActionBundle, type ActionRun } from '@titan/test-host/action-run';
import { parsePublicKey, releaseKeyId } from '@titan/release/release-key';
import { loadTestHost } from '@titan/test-host/test-host';
import { bringDown } from '../../packages/deploy/test/support/host-fixture.js';
import { signTestRelease } from '../../packages/deploy/test/support/test-releases.js';
import { secretFilesInput } from '@titan/test-host/shared-values';
import { DropletStandIn, freePort, stackPorts } from '@titan/test-host/droplet-stand-in';
import { startGitHubSecretsDouble, type GitHubSecretsDouble } from './support/github-secrets-double.js';

const testHost = loadTestHost();
const ACTION = 'action-provision';
const TOKEN = `dop_v1_${randomBytes(32).toString('hex')}`;
const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('hex')}`;
const PROJECT = 'provisioned';
const keys = mkdtempSync(join(tmpdir(), 'titan-provision-keys-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy@provision-test', '-f', join(keys, 'deploy')]);
const deployKey = readFileSync(join(keys, 'deploy'), 'utf8');
const deployPublicKey = readFileSync(join(keys, 'deploy.pub'), 'utf8').trim();
const values = readFileSync(join(testHost.appDir, 'shared', '.env.prod'), 'utf8');
const secretValues = values.split('\n').filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l)).map((l) => l.slice(l.indexOf('=') + 1)).filter((v) => v.length >= 12 && !/^\d+$/.test(v) && !v.includes('127.0.0.1'));
const postgresPassword = /^POSTGRES_PASSWORD=(.*)$/m.exec(values)?.[1] ?? '';
const appDir = join(testHost.stateDir, 'droplet-app', 'provision-test');
const standIn = new DropletStandIn('provision-test', testHost.stateDir);

let double: DigitalOceanApiDouble;
let github: GitHubSecretsDouble;
let sshPort: number;
let first: ActionRun;
let knownHosts: string;

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    token: TOKEN,
    name: 'titan-prod',
    region: 'fra1',
    size: 's-2vcpu-4gb',
    'deploy-public-key': deployPublicKey,
    'ssh-key': deployKey,
    'ssh-port': String(sshPort),
    'ssh-allowed-sources': '127.0.0.0/8\n203.0.113.0/24',
    'release-public-keys': testHost.releasePublicKey,
    'app-dir': appDir,
    source: join(REPOSITORY_ROOT, 'examples/titan'),
    'volume-size': '10',
    domain: 'titan.example.com',
    values,
    // The files the example's secrets overlay mounts (so the release deploys here), and one more.
    'secret-files': `postgres_password=POSTGRES_PASSWORD\n${secretFilesInput(testHost.example)}`,
    'github-token': GITHUB_TOKEN,
    'github-environment': 'production',
    'github-repository': 'titan/titan',
    'github-api-url': github.url,
    'api-url': double.url,
    'upgrade-packages': 'false',
    'poll-interval': '0',
    'active-timeout': '30',
    'boot-timeout': '180',
    ...extra,
  };
}

/** What a person sees: the runner hides `::add-mask::` commands. */
const visible = (text: string) => text.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');

function ssh(args: readonly string[], user = 'deploy', knownHostsText = knownHosts): { status: number | null; out: string } {
  const file = join(keys, `known_hosts-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, `${knownHostsText}\n`);
  const run = spawnSync('ssh', ['-i', join(keys, 'deploy'), '-p', String(sshPort), '-o', `UserKnownHostsFile=${file}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', ...args.slice(0, -1), `${user}@127.0.0.1`, args.at(-1) ?? 'true'], { encoding: 'utf8' });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

const inside = (argv: readonly string[]) => standIn.exec(argv).stdout;

beforeAll(async () => {
  standIn.stop();
  rmSync(appDir, { recursive: true, force: true });
  bringDown(PROJECT);
  sshPort = await freePort();
  double = await DigitalOceanApiDouble.start({ token: TOKEN, domains: ['example.com'], dropletAddress: () => '127.0.0.1' });
  github = await startGitHubSecretsDouble(GITHUB_TOKEN);
  // Rate limited mid-run: the sixth request is answered 429 with retry-after 1.
  double.inject({ status: 429, retryAfterSeconds: 1, afterRequests: 5 });
  const running = await startActionBundle(ACTION, { inputs: inputs(), timeoutMs: 300_000 });
  // The Droplet "boots" once DigitalOcean has it: with the user data the double received.
  const deadline = Date.now() + 60_000;
  let dropletId: number | undefined;
  while (dropletId === undefined && Date.now() < deadline) {
    dropletId = [...double.world.droplets.keys()][0];
    if (dropletId === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  if (dropletId === undefined) throw new Error(`the action created no Droplet:\n${running.log()}`);
  standIn.boot({ userData: double.world.userData.get(dropletId) ?? '', sshPort, appDir, volume: 'titan-prod-jetstream', forward: stackPorts(readFileSync(join(testHost.example, 'docker-compose.prod.yml'), 'utf8')) });
  first = await running.result;
  knownHosts = first.outputs['known-hosts'] ?? '';
}, 300_000);

afterAll(async () => {
  bringDown(PROJECT);
  standIn.stop();
  await double?.close();
  await github?.close();
});

describe('provisioning a Droplet from nothing', () => {
  it('converges: every resource created, outputs, a job summary, the GitHub secrets sealed, and no secret in the log', () => {
    expect(visible(first.log)).not.toMatch(/::error::/);
    expect(first.status).toBe(0);
    double.assertValid();
    expect(first.outputs['address']).toBe('127.0.0.1');
    expect(first.outputs['changed']).toBe('true');
    expect(knownHosts).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshPort} ssh-ed25519 AAAA[A-Za-z0-9+/]+=*$`));
    expect(first.outputs['host-key-fingerprint']).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const plan = JSON.parse(first.outputs['plan'] ?? '[]') as { resource: string; name: string; state: string; applied: boolean }[];
    expect(plan.map((c) => `${c.resource} ${c.name} ${c.state}`)).toEqual([
      'droplet titan-prod create',
      'volume titan-prod-jetstream create',
      'firewall titan-prod-firewall create',
      'dns A titan.example.com create',
      'host key titan-prod create',
      `trust key ${releaseKeyId(parsePublicKey(testHost.releasePublicKey))} unchanged`,
      `volume mount /var/lib/docker/volumes/titan_titan-jetstream-data unchanged`,
      `host layout ${appDir} unchanged`,
      'values shared/.env.prod create',
      'secret file shared/secrets/postgres_password create',
      'secret file shared/secrets/binance_api_key create',
      'secret file shared/secrets/binance_api_secret create',
      'secret file shared/secrets/bybit_api_key create',
      'secret file shared/secrets/bybit_api_secret create',
      'secret PROD_SSH_HOST titan/titan/production create',
      'secret PROD_SSH_KNOWN_HOSTS titan/titan/production create',
    ]);
    expect(first.stdout).toContain('rate limited by DigitalOcean (429): waiting 1 s as it asks');
    expect(first.summary).toContain('✅ titan-prod provisioned');
    expect(first.summary).toContain(`${first.outputs['host-key-fingerprint']} (ssh-ed25519, the host's own; pinned from first boot)`);
    expect(first.summary).toMatch(/\| 🆕 \| droplet \| titan-prod \| created \(id \d+\) \|/);
    expect(first.summary).toContain('1 retried, 1 rate-limit wait(s)');
    expect(github.secrets.get('titan/titan/production/PROD_SSH_HOST')).toBe('127.0.0.1');
    expect(github.secrets.get('titan/titan/production/PROD_SSH_KNOWN_HOSTS')).toBe(knownHosts);
    const firewall = [...double.world.firewalls.values()][0] as { inbound_rules: unknown[]; tags: string[] };
    expect(firewall.tags).toEqual(['titan-prod']);
    expect(firewall.inbound_rules).toEqual([
      { protocol: 'tcp', ports: String(sshPort), sources: { addresses: ['127.0.0.0/8', '203.0.113.0/24'] } },
      { protocol: 'tcp', ports: '80', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
      { protocol: 'tcp', ports: '443', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
    ]);
    expect(double.world.domains.get('example.com')).toMatchObject([{ type: 'A', name: 'titan', data: '127.0.0.1', ttl: 300 }]);
    const shown = `${visible(first.log)}\n${first.summary}\n${first.outputText}`;
    expect(secretValues.length).toBeGreaterThan(10);
    for (const secret of [...secretValues, TOKEN, GITHUB_TOKEN]) expect(shown).not.toContain(secret);
    expect(shown).not.toContain('PRIVATE KEY');
  });

  it('booted the user data with cloud-init: valid for cloud-init itself, under 64 KiB, first boot done', () => {
    const userData = [...double.world.userData.values()][0] ?? '';
    expect(Buffer.byteLength(userData)).toBeLessThanOrEqual(64 * 1024);
    // What the Droplet's cloud-init received, validated by that cloud-init (Debian 13's 25.1).
    expect(inside(['cat', '/var/lib/cloud/instance/user-data.txt'])).toBe(userData);
    const schema = standIn.exec(['cloud-init', 'schema', '--config-file', '/var/lib/cloud/instance/user-data.txt']);
    expect(`${schema.stdout}${schema.stderr}`).toMatch(/Valid schema/);
    expect(schema.status).toBe(0);
    const status = inside(['cloud-init', 'status', '--long']);
    expect(status).toMatch(/^status: done$/m);
    expect(status).toMatch(/^extended_status: done$/m);
    expect(inside(['cat', '/var/lib/titan/firstboot.done'])).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('lets the deploy key in, refuses root and passwords, and presents only the host\'s own key', () => {
    const deploy = ssh(['id -un; id -Gn']);
    expect(deploy.out).toBe('deploy\ndeploy docker\n');
    expect(deploy.status).toBe(0);
    // Root with the very same key authorized (as DigitalOcean would install one): refused.
    standIn.exec(['sh', '-c', `install -d -m 0700 /root/.ssh && printf '%s\\n' '${deployPublicKey}' > /root/.ssh/authorized_keys`]);
    const root = ssh(['id'], 'root');
    expect(root.status).toBe(255);
    expect(root.out).toContain('Permission denied (publickey)');
    const password = ssh(['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', 'id']);
    expect(password.status).toBe(255);
    expect(password.out).toContain('Permission denied (publickey)');
    const scanned = execFileSync('ssh-keyscan', ['-p', String(sshPort), '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((l) => l !== '');
    expect(scanned).toEqual([knownHosts]);
    const injected = /ed25519_public: (ssh-ed25519 \S+)/.exec([...double.world.userData.values()][0] ?? '')?.[1] ?? '';
    expect(injected).toMatch(/^ssh-ed25519 /);
    expect(knownHosts).not.toContain(injected.split(' ')[1]);
    // The injected key, still readable in the user data, opens nothing: pinned to it, the host is refused.
    const pinnedToInjected = ssh(['id'], 'deploy', `[127.0.0.1]:${sshPort} ${injected}`);
    expect(pinnedToInjected.status).toBe(255);
    expect(pinnedToInjected.out).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect(inside(['ls', '/etc/ssh']).split('\n').filter((n) => n.startsWith('ssh_host_'))).toEqual(['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
  });

  it('hardened sshd, Docker log rotation, the host firewall, root locked, the volume mounted', () => {
    const effective = inside(['sshd', '-T']).split('\n');
    for (const line of [`port ${sshPort}`, 'permitrootlogin no', 'passwordauthentication no', 'kbdinteractiveauthentication no', 'authenticationmethods publickey', 'allowusers deploy', 'clientaliveinterval 30', 'clientalivecountmax 4', 'allowtcpforwarding local', 'permitopen 127.0.0.1:* [::1]:*', 'x11forwarding no', 'allowagentforwarding no', 'hostkey /etc/ssh/ssh_host_ed25519_key']) {
      expect(effective).toContain(line);
    }
    expect(effective.filter((l) => l.startsWith('hostkey '))).toHaveLength(1);
    expect(JSON.parse(inside(['cat', '/etc/docker/daemon.json']))).toEqual({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '5' } });
    const rules = inside(['nft', 'list', 'table', 'inet', 'titan_host']);
    expect(rules).toContain('type filter hook input priority filter; policy drop;');
    expect(rules).toContain(`ip saddr { 127.0.0.0/8, 203.0.113.0/24 } tcp dport ${sshPort} accept`);
    expect(rules).toContain('tcp dport { 80, 443 } accept');
    expect(inside(['passwd', '-S', 'root']).split(' ')[1]).toBe('L');
    expect(inside(['findmnt', '-n', '-o', 'FSTYPE,SOURCE', '/var/lib/docker/volumes/titan_titan-jetstream-data'])).toMatch(/^ext4 \/dev\/loop\d+\n$/);
    expect(inside(['readlink', '/dev/disk/by-id/scsi-0DO_Volume_titan-prod-jetstream'])).toMatch(/loop\d+/);
  });

  it('laid out the application folder with the owners and modes the deploy expects, values 0600 over stdin', () => {
    const stat = (path: string) => inside(['stat', '-c', '%U %G %a', join(appDir, path)]).trim();
    expect(stat('.')).toBe('deploy deploy 750');
    expect(stat('releases')).toBe('deploy deploy 750');
    expect(stat('shared')).toBe('deploy deploy 700');
    expect(stat('shared/.env.prod')).toBe('deploy deploy 600');
    expect(stat('shared/secrets/postgres_password')).toBe('deploy deploy 600');
    expect(stat('shared/secrets/binance_api_key')).toBe('deploy deploy 600');
    expect(stat('state')).toBe('deploy deploy 750');
    expect(stat('trust')).toBe('root root 755');
    expect(stat('journal.jsonl')).toBe('deploy deploy 640');
    expect(readFileSync(join(appDir, 'shared', '.env.prod'), 'utf8')).toBe(values.endsWith('\n') ? values : `${values}\n`);
    expect(readFileSync(join(appDir, 'shared', 'secrets', 'postgres_password'), 'utf8')).toBe(postgresPassword);
    const trust = inside(['ls', join(appDir, 'trust')]).split('\n').filter(Boolean);
    expect(trust).toHaveLength(1);
    expect(readFileSync(join(appDir, 'trust', trust[0] ?? ''), 'utf8')).toBe(readFileSync(testHost.releasePublicKeyPem, 'utf8'));
  });

  it('a second run writes nothing, on DigitalOcean, the host or GitHub, and says so', () => {
    return (async () => {
      double.resetCalls();
      github.calls.length = 0;
      const envBefore = inside(['stat', '-c', '%Y %i', join(appDir, 'shared', '.env.prod')]);
      const second = await runActionBundle(ACTION, {
        inputs: inputs({ 'known-hosts': knownHosts, 'current-host': '127.0.0.1', 'current-known-hosts': knownHosts }),
        timeoutMs: 120_000,
      });
      expect(visible(second.log)).not.toMatch(/::error::/);
      expect(second.status).toBe(0);
      double.assertValid();
      expect(double.writes()).toEqual([]);
      expect(github.calls).toEqual([]);
      expect(second.outputs['changed']).toBe('false');
      expect(second.outputs['known-hosts']).toBe(knownHosts);
      expect(second.summary).toContain('✅ titan-prod is as wanted: nothing changed');
      expect(second.summary).toContain('0 write(s)');
      expect(second.stdout).toContain('titan-prod is as wanted: nothing was changed.');
      const plan = JSON.parse(second.outputs['plan'] ?? '[]') as { state: string }[];
      expect(plan.every((c) => c.state === 'unchanged')).toBe(true);
      expect(inside(['stat', '-c', '%Y %i', join(appDir, 'shared', '.env.prod')])).toBe(envBefore);
    })();
  });

  it('plan mode prints the full diff of a change and writes nothing', async () => {
    double.resetCalls();
    const plan = await runActionBundle(ACTION, {
      inputs: inputs({ plan: 'true', 'known-hosts': knownHosts, 'ssh-allowed-sources': '198.51.100.0/24', size: 's-4vcpu-8gb', 'current-host': '127.0.0.1', 'current-known-hosts': knownHosts }),
      timeoutMs: 120_000,
    });
    expect(plan.status).toBe(0);
    double.assertValid();
    expect(double.writes()).toEqual([]);
    expect(plan.summary).toContain('📋 Plan for titan-prod (nothing was changed)');
    expect(plan.stdout).toContain('firewall titan-prod-firewall: will be changed');
    expect(plan.stdout).toContain(`inbound: add tcp ${sshPort} from/to 198.51.100.0/24`);
    expect(plan.stdout).toContain(`inbound: remove tcp ${sshPort} from/to 127.0.0.0/8,203.0.113.0/24`);
    expect(plan.stdout).toContain('droplet titan-prod: drift (left as is)');
    expect(plan.stdout).toContain('size is s-2vcpu-4gb, wanted s-4vcpu-8gb: set at creation, not changed');
    expect(plan.stdout).toContain('values shared/.env.prod: unchanged');
    const firewall = [...double.world.firewalls.values()][0] as { inbound_rules: { sources: { addresses: string[] } }[] };
    expect(firewall.inbound_rules[0]?.sources.addresses).toEqual(['127.0.0.0/8', '203.0.113.0/24']);
  });

  it('refuses the injected first-boot key once rotated: a run pinned to it stops before sending anything', async () => {
    double.resetCalls();
    const injected = /ed25519_public: (ssh-ed25519 \S+)/.exec([...double.world.userData.values()][0] ?? '')?.[1] ?? '';
    const run = await runActionBundle(ACTION, { inputs: inputs({ 'known-hosts': `[127.0.0.1]:${sshPort} ${injected}` }), timeoutMs: 120_000 });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/::error::converging the host 127\.0\.0\.1: .*host key/i);
    expect(run.stdout).toContain('Nothing had been created or changed by this run.');
    expect(double.writes()).toEqual([]);
  });

  it('deploys the example release onto the provisioned host', async () => {
    const release = await signTestRelease();
    const deploy = await runActionBundle('action-deploy', {
      inputs: {
        host: '127.0.0.1',
        port: String(sshPort),
        user: 'deploy',
        'ssh-key': deployKey,
        'known-hosts': knownHosts,
        bundle: release.dir,
        'public-key': testHost.releasePublicKey,
        'app-dir': appDir,
        project: PROJECT,
        'health-timeout': '120',
        'confirm-timeout': '120',
      },
      env: { GITHUB_ACTOR: 'provision-test', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '11', GITHUB_RUN_ATTEMPT: '1' },
      timeoutMs: 300_000,
    });
    expect(visible(deploy.log)).not.toMatch(/::error::/);
    expect(deploy.status).toBe(0);
    expect(deploy.outputs['result']).toBe('deployed');
    expect(inside(['readlink', join(appDir, 'current')]).trim()).toBe(`releases/${release.manifest.releaseId}`);
    expect(deploy.summary).toContain('Verified');
  }, 300_000);
});
