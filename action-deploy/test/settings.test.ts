import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputReader } from '@titan/action-kit/inputs';
import { readSettings } from '../src/settings.js';
import { signTestRelease } from '../../packages/deploy/test/support/test-releases.js';

let bundle: string;
let releaseId: string;

function reader(values: Record<string, string>): InputReader {
  return new InputReader({ get: (name) => values[name] ?? '' });
}

const base = (): Record<string, string> => ({
  host: 'droplet.example.com',
  'ssh-key': 'not-a-real-key',
  'known-hosts': 'droplet.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnRw7ROo47y7nNXz4yKrk/Usjo/D+Gmi6NLSoXOaNd4',
  bundle,
});

beforeAll(async () => {
  const release = await signTestRelease();
  bundle = release.dir;
  releaseId = release.manifest.releaseId;
});

describe('deploy settings', () => {
  it('applies the defaults of action.yml and reads the release id from the bundle', async () => {
    const settings = await readSettings(reader(base()), { GITHUB_ACTOR: 'octo', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '9', GITHUB_RUN_ATTEMPT: '2' });
    expect(settings).toMatchObject({
      port: 22,
      user: 'deploy',
      appDir: '/opt/titan',
      project: 'titan',
      mode: 'DISARMED',
      healthTimeoutSeconds: 120,
      confirmTimeoutSeconds: 300,
      lockTimeoutSeconds: 300,
      keepReleases: 5,
      environment: 'production',
      releaseId,
      actor: 'octo',
      runUrl: 'https://github.com/titan/titan/actions/runs/9/attempts/2',
    });
    expect(settings.publicKey).toBeUndefined();
    expect(settings.githubToken).toBeUndefined();
  });

  it('arms only on the exact string ARMED', async () => {
    expect((await readSettings(reader({ ...base(), mode: 'ARMED' }), {})).mode).toBe('ARMED');
    for (const mode of ['armed', 'Armed', 'ARMED ', 'yes', 'true']) {
      await expect(readSettings(reader({ ...base(), mode }), {})).rejects.toThrow(/Input mode must be one of DISARMED, ARMED/);
    }
  });

  it('names the input at fault', async () => {
    await expect(readSettings(reader({}), {})).rejects.toThrow('Input required and not supplied: host');
    await expect(readSettings(reader({ ...base(), 'known-hosts': '' }), {})).rejects.toThrow(/Input required and not supplied: known-hosts/);
    await expect(readSettings(reader({ ...base(), port: '70000' }), {})).rejects.toThrow('Input port must be at most 65535');
    await expect(readSettings(reader({ ...base(), 'health-timeout': 'soon' }), {})).rejects.toThrow('Input health-timeout must be a whole number');
    await expect(readSettings(reader({ ...base(), 'public-key': 'abc' }), {})).rejects.toThrow(/Input public-key/);
  });

  it('refuses a bundle that is not a signed release folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'titan-settings-'));
    await expect(readSettings(reader({ ...base(), bundle: join(dir, 'missing') }), {})).rejects.toThrow(/Input bundle .* cannot be read \(ENOENT\)/);
    writeFileSync(join(dir, 'file'), 'x');
    await expect(readSettings(reader({ ...base(), bundle: join(dir, 'file') }), {})).rejects.toThrow(/is not a folder/);
    mkdirSync(join(dir, 'empty'));
    await expect(readSettings(reader({ ...base(), bundle: join(dir, 'empty') }), {})).rejects.toThrow(/has no readable manifest.json/);
    mkdirSync(join(dir, 'garbled'));
    writeFileSync(join(dir, 'garbled', 'manifest.json'), '{"schemaVersion":1}');
    await expect(readSettings(reader({ ...base(), bundle: join(dir, 'garbled') }), {})).rejects.toThrow(/is not a valid release manifest/);
  });

  it('jump-host: one bastion for one host, or for every host of hosts; its pins required, its user and key defaulting to the host\'s', async () => {
    const pin = '[bastion.example.com]:2222 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    const single = await readSettings(reader({ ...base(), 'jump-host': 'ops@bastion.example.com:2222', 'jump-known-hosts': pin }), {});
    expect(single.jump).toEqual({ host: 'bastion.example.com', port: 2222, user: 'ops', sshKey: 'not-a-real-key', knownHosts: [pin] });
    const { host: _host, 'known-hosts': _pins, ...rest } = base();
    const hosts = '- name: fra-1\n  address: 10.0.0.1\n  known-hosts: SHA256:aaa\n';
    const fleet = await readSettings(reader({ ...rest, hosts, user: 'ops', 'jump-host': 'bastion.example.com:2222', 'jump-ssh-key': 'bastion-key', 'jump-known-hosts': pin }), {});
    expect(fleet.jump).toEqual({ host: 'bastion.example.com', port: 2222, user: 'ops', sshKey: 'bastion-key', knownHosts: [pin] });
    await expect(readSettings(reader({ ...rest, hosts, 'jump-host': 'bastion.example.com' }), {})).rejects.toThrow('Input required and not supplied: jump-known-hosts');
    await expect(readSettings(reader({ ...base(), 'jump-known-hosts': pin }), {})).rejects.toThrow('Input jump-known-hosts is only for a host reached through a bastion: give jump-host too');
  });

  it('with hosts: a rolling deploy, each host its own pins; host, known-hosts, plan and github-token refused with it', async () => {
    const { host: _host, 'known-hosts': _pins, ...rest } = base();
    const hosts = '- name: fra-1\n  address: 10.0.0.1\n  known-hosts: SHA256:aaa\n- name: fra-2\n  address: 10.0.0.2\n  port: 2222\n  project: fra2\n  known-hosts: |\n    SHA256:bbb\n';
    const settings = await readSettings(reader({ ...rest, hosts, 'batch-size': '5', 'on-failure': 'leave', user: 'ops' }), {});
    expect(settings.fleet?.hosts).toEqual([
      { name: 'fra-1', address: '10.0.0.1', port: 22, user: 'ops', knownHosts: ['SHA256:aaa'] },
      { name: 'fra-2', address: '10.0.0.2', port: 2222, user: 'ops', project: 'fra2', knownHosts: ['SHA256:bbb'] },
    ]);
    expect(settings.fleet).toMatchObject({ batchSize: 5, onFailure: 'leave' });
    expect((await readSettings(reader({ ...rest, hosts }), {})).fleet).toMatchObject({ batchSize: 1, onFailure: 'rollback' });
    expect((await readSettings(reader(base()), {})).fleet).toBeUndefined();
    await expect(readSettings(reader({ ...base(), hosts }), {})).rejects.toThrow('Input host must be empty when hosts is given');
    await expect(readSettings(reader({ ...rest, hosts, plan: 'true' }), {})).rejects.toThrow('Input plan: `true` is for one host');
    await expect(readSettings(reader({ ...rest, hosts, 'github-token': 'ghs_x' }), {})).rejects.toThrow('Input github-token: a GitHub deployment records one host');
    await expect(readSettings(reader({ ...rest, hosts, 'on-failure': 'ignore' }), {})).rejects.toThrow('Input on-failure must be one of rollback, leave');
    await expect(readSettings(reader({ ...rest, hosts: '- name: x\n  address: 10.0.0.1\n' }), {})).rejects.toThrow('Input hosts: The hosts list has 1 problem(s):\n  - host 1 (x): known-hosts is required');    await expect(readSettings(reader({ ...rest, hosts, target: 'swarm' }), {})).rejects.toThrow('Input hosts is not used with target: swarm');
    // The return's HARD_HALT: nats-url and nats-user checked as rollback checks them, credentials in the URL refused.
    expect((await readSettings(reader({ ...rest, hosts, 'nats-url': 'nats://10.0.0.9:4223', 'nats-user': 'ops' }), {})).fleet?.halt).toMatchObject({ address: { host: '10.0.0.9', port: 4223 }, user: 'ops' });
    expect((await readSettings(reader({ ...rest, hosts }), {})).fleet?.halt).toMatchObject({ address: { host: '127.0.0.1', port: 4222 }, user: 'console' });
    await expect(readSettings(reader({ ...rest, hosts, 'nats-url': 'nats://u:p@10.0.0.9:4222' }), {})).rejects.toThrow('Input nats-url: ');
  });
});
