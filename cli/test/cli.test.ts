/**
 * The break-glass CLI as an operator runs it (`npx @titan/cli`: cli/bin/titan.js, the committed
 * bundle, under Node 24), against a stack of this file's own on the real test host: a signed bundle
 * deployed, verified and rolled back with the exit status, the progress on stderr and the summary
 * on stdout checked; a deploy cancelled by SIGINT; a missing host-key pin and a wrong one; a secret
 * given as a flag; every command's --help; a backup of the stack's Redis to an S3 peer; a
 * provision plan against the DigitalOcean API double.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as age from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';
import { startSpacesPeer } from '@titan/test-host/spaces-peer';
import { productionValue } from '@titan/test-host/production-values';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { parse } from 'yaml';
import { bringDown, eventually, testHost } from '../../packages/deploy/test/support/host-fixture.js';
import { signTestRelease } from '../../packages/deploy/test/support/test-releases.js';
import { lifeStack } from '../../action-deploy/test/support/life-stack.js';
import { spacesInputs } from '../../action-backup/test/support/spaces-check.js';
import { flags, runCli, startCli } from './support/cli-run.js';

const COMMANDS: Record<string, string> = {
  deploy: 'action-deploy',
  verify: 'action-verify',
  rollback: 'action-rollback',
  backup: 'action-backup',
  restore: 'action-backup/restore',
  provision: 'action-provision',
};

function inputsOf(actionDir: string): string[] {
  const yaml = parse(readFileSync(join(REPOSITORY_ROOT, actionDir, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> };
  return Object.keys(yaml.inputs);
}

describe('titan --help and bad command lines', () => {
  it('--help of titan lists every command and the exit statuses; every command has a --help with each input of its action.yml and the exit statuses', async () => {
    const main = await runCli(['--help']);
    expect(main.status).toBe(0);
    // As the README says to run it: npx from the repository (its workspace's bin, no registry).
    const npx = spawnSync('npx', ['--no-install', '@titan/cli', '--help'], { cwd: REPOSITORY_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(npx.status, npx.stderr).toBe(0);
    expect(npx.stdout).toBe(main.stdout);
    for (const name of Object.keys(COMMANDS)) expect(main.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(main.stdout).toMatch(/^ {2}0 +success/m);
    expect(main.stdout).toMatch(/^ {2}1 +failed/m);
    expect(main.stdout).toMatch(/^ {2}2 +bad input/m);
    expect(main.stdout).toMatch(/^ {2}130 +cancelled/m);
    const helps = await Promise.all(Object.keys(COMMANDS).map((name) => runCli([name, '--help'])));
    for (const [index, [name, actionDir]] of Object.entries(COMMANDS).entries()) {
      const help = helps[index];
      expect(help?.status, name).toBe(0);
      expect(help?.stdout).toContain(`Usage: npx @titan/cli ${name} `);
      for (const input of inputsOf(actionDir)) expect(help?.stdout, `${name} --help names ${input}`).toMatch(new RegExp(`^  ${input}( \\(|$)`, 'm'));
      expect(help?.stdout).toMatch(/^ {2}130 +cancelled/m);
    }
    expect(helps[0]?.stdout).toContain('TITAN_SSH_KEY or --ssh-key-file FILE (secret: never a flag)');
    expect(helps[0]?.stdout).toContain('--known-hosts VALUE, --known-hosts-file FILE or TITAN_KNOWN_HOSTS');
  });

  it('a secret given as a flag (--ssh-key VALUE, --nats-password=VALUE) is refused with the bad-input status, naming where it goes, never echoing it', async () => {
    const key = 'cli-test-not-a-real-key-0f3a9';
    const verify = await runCli(['verify', '--host', '127.0.0.1', '--known-hosts', testHost.knownHosts, '--ssh-key', key]);
    expect(verify.status).toBe(2);
    expect(verify.stderr).toContain('--ssh-key is a secret and is refused on the command line');
    expect(verify.stderr).toContain('TITAN_SSH_KEY');
    expect(`${verify.stdout}${verify.stderr}`).not.toContain(key);
    const rollback = await runCli(['rollback', '--host', '127.0.0.1', `--nats-password=${key}`]);
    expect(rollback.status).toBe(2);
    expect(rollback.stderr).toContain('--nats-password is a secret');
    expect(`${rollback.stdout}${rollback.stderr}`).not.toContain(key);
  });

  it('an unknown command, an unknown flag and a flag without its value are bad input', async () => {
    const [command, flag, value] = await Promise.all([runCli(['deplyo']), runCli(['deploy', '--hots', 'x']), runCli(['verify', '--host'])]);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain('unknown command "deplyo"');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--hots'");
    expect(value.status).toBe(2);
    expect(value.stderr).toContain("Option '--host <value>' argument missing");
    const stray = await runCli(['verify', '--host', '127.0.0.1', 'ghp_stray0secret0word']);
    expect(stray.status).toBe(2);
    expect(stray.stderr).toContain('An unexpected word on the command line');
    expect(stray.stderr).not.toContain('ghp_stray0secret0word');
  });

  it('provision: a plan against the DigitalOcean API double (exit 0, the plan as the summary and the plan output; the token from the environment, shown nowhere)', async () => {
    const token = `dop_v1_${randomBytes(32).toString('hex')}`;
    const keys = mkdtempSync(join(tmpdir(), 'titan-cli-provision-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy@cli', '-f', join(keys, 'deploy')]);
    const double = await DigitalOceanApiDouble.start({ token, domains: ['example.com'], dropletAddress: () => '127.0.0.1' });
    try {
      const run = await runCli(
        [
          'provision',
          ...flags({
            name: 'cli-plan',
            region: 'nyc3',
            size: 's-2vcpu-4gb',
            'deploy-public-key': readFileSync(join(keys, 'deploy.pub'), 'utf8').trim(),
            'ssh-allowed-sources': '203.0.113.0/24',
            'release-public-keys': testHost.releasePublicKey,
            'api-url': double.url,
            source: join(REPOSITORY_ROOT, 'examples/titan'),
            domain: 'plan.example.com',
            plan: 'true',
          }),
          '--ssh-key-file',
          join(keys, 'deploy'),
        ],
        { TITAN_TOKEN: token },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('📋 Plan for cli-plan (nothing was changed)');
      expect(run.stderr).toContain('droplet cli-plan: will be created');
      const plan = /^ {2}plan: (.*)$/m.exec(run.stdout)?.[1] ?? '[]';
      expect((JSON.parse(plan) as { resource: string; state: string }[]).map((c) => `${c.resource}: ${c.state}`)).toEqual(['droplet: create', 'volume: create', 'firewall: create', 'dns A: create', 'host: create']);
      expect(`${run.stdout}${run.stderr}`).not.toContain(token);
      double.assertValid();
    } finally {
      await double.close();
    }
  });
});

describe('titan against the test host: deploy, verify, rollback, a cancelled deploy', () => {
  const stack = lifeStack('cli-break-glass');
  const { project, appDir } = stack;
  const scratch = mkdtempSync(join(tmpdir(), 'titan-cli-files-'));
  const keyFile = join(scratch, 'ssh-key');
  const releases: { dir: string; id: string }[] = [];
  let env: Record<string, string> = {};

  /** deploy's inputs as flags: everything but the SSH key, which comes from a file. */
  const deployFlags = (bundle: string, extra: Record<string, string> = {}): string[] => {
    const inputs = stack.deployInputs(bundle, extra);
    delete inputs['ssh-key'];
    return [...flags(inputs), '--ssh-key-file', keyFile];
  };
  const target = (): string[] => flags({ host: testHost.host, port: String(testHost.port), user: testHost.user, 'known-hosts': testHost.knownHosts, 'app-dir': appDir, project });

  beforeAll(async () => {
    bringDown(project, appDir);
    writeFileSync(keyFile, readFileSync(testHost.privateKeyPath, 'utf8'), { mode: 0o600 });
    env = {
      TITAN_NATS_PASSWORD: productionValue(join(appDir, 'shared', '.env.prod'), 'NATS_CONSOLE_PASSWORD'),
      TITAN_HMAC_SECRET: productionValue(join(appDir, 'shared', '.env.prod'), 'HMAC_SECRET'),
    };
    for (let i = 0; i < 3; i++) {
      const signed = await signTestRelease();
      releases.push({ dir: signed.dir, id: signed.manifest.releaseId });
    }
  });

  afterAll(() => {
    bringDown(project, appDir);
  });

  it('deploys a signed bundle (exit 0; each phase on stderr as it begins and ends; the summary and outputs on stdout), a second one over it, verifies it and rolls back to the first', async () => {
    const [first, second] = [releases[0], releases[1]];
    if (first === undefined || second === undefined) throw new Error('no releases');
    const deploy = await runCli(['deploy', ...deployFlags(first.dir)], env);
    expect(deploy.status, deploy.stderr).toBe(0);
    expect(deploy.stderr).toMatch(/^\[\d\d:\d\d\.\d\] ▶ Read the bundle$/m);
    expect(deploy.stderr).toMatch(/^\[\d\d:\d\d\.\d\] ✔ Connect to deploy@127\.0\.0\.1 \(\d+\.\d s\)$/m);
    expect(deploy.stderr).toMatch(/▶ verify$/m);
    expect(deploy.stderr).toMatch(/✔ confirm \(\d+\.\d s\)$/m);
    expect(deploy.stderr).not.toContain('::');
    expect(deploy.stdout).toContain(`✅ Deployed: release ${first.id} on 127.0.0.1`);
    expect(deploy.stdout).toMatch(/^│ phase +│ start +│ duration +│ timeline +│$/m);
    expect(deploy.stdout).not.toContain('\u001b[');
    expect(deploy.stdout).toMatch(/^ {2}result: deployed$/m);
    expect(deploy.stdout).toMatch(new RegExp(`^  release-id: ${first.id}$`, 'm'));
    expect(stack.current()).toBe(first.id);
    expect(stack.journal().findLast((e) => e['action'] === 'deploy')).toMatchObject({ result: 'deployed', release: first.id, actor: expect.stringMatching(/\(titan CLI\)$/) as unknown });

    const summaryFile = join(scratch, 'second.md');
    const again = await runCli(['deploy', ...deployFlags(second.dir), '--summary', summaryFile], env);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(summaryFile, 'utf8')).toMatch(new RegExp(`^## ✅ Deployed: release ${second.id} on 127\\.0\\.0\\.1$`, 'm'));
    expect(again.stdout).not.toContain('Deployed:');
    expect(again.stderr).toContain(`Summary written to ${summaryFile}`);
    expect(stack.current()).toBe(second.id);

    const verify = await runCli(['verify', ...target(), '--public-key', testHost.releasePublicKey, '--timeout', '60'], { TITAN_SSH_KEY: readFileSync(keyFile, 'utf8') });
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr).toMatch(/▶ Verify the stack$/m);
    expect(verify.stdout).toContain(`Release checked: ${second.id}, the host's current release`);
    expect(verify.stdout).toMatch(/^ {2}healthy: true$/m);

    const rollback = await runCli(['rollback', ...target(), '--to', first.id, '--reason', 'break-glass drill', '--health-timeout', '60', '--lock-timeout', '60', '--heartbeat-timeout', '4', '--ssh-key-file', keyFile], env);
    expect(rollback.status, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain(`↩️ Rolled back to ${first.id} on 127.0.0.1`);
    expect(rollback.stdout).toMatch(/^ {2}result: rolled-back$/m);
    expect(stack.current()).toBe(first.id);
    expect(await stack.healthy()).toBe(true);
    const secrets = [readFileSync(keyFile, 'utf8').split('\n')[1] ?? 'x', env['TITAN_NATS_PASSWORD'] ?? 'x', env['TITAN_HMAC_SECRET'] ?? 'x'];
    for (const run of [deploy, again, verify, rollback]) for (const secret of secrets) expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
  });

  it('without a host-key pin: the bad-input status and the input named, nothing sent; with a wrong pin: refused before anything is sent, the failed status', async () => {
    const third = releases[2];
    if (third === undefined) throw new Error('no release');
    const before = stack.journal().length;
    const args = deployFlags(third.dir);
    const pin = args.indexOf('--known-hosts');
    const unpinned = await runCli(['deploy', ...args.slice(0, pin), ...args.slice(pin + 2)], env);
    expect(unpinned.status).toBe(2);
    expect(unpinned.stderr).toContain('Input required and not supplied: known-hosts');
    expect(unpinned.stderr).toContain('See npx @titan/cli deploy --help.');
    const wrong = await runCli(['deploy', ...args.slice(0, pin), '--known-hosts', 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU', ...args.slice(pin + 2)], env);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/host key/i);
    expect(wrong.stdout).toContain('Deploy failed');
    expect(stack.journal().length).toBe(before);
    expect(stack.current()).toBe(releases[0]?.id);
  });

  it("backup: the stack's Redis to Spaces (an S3 peer), encrypted (exit 0; the summary and outputs on stdout; the manifest stored; the Spaces keys from the environment, shown nowhere)", async () => {
    const peer = await startSpacesPeer();
    try {
      const recipient = await age.identityToRecipient(await age.generateIdentity());
      const { 'spaces-access-key': accessKey = '', 'spaces-secret-key': secretKey = '', ...spaces } = spacesInputs(peer, 'cli');
      const run = await runCli(['backup', ...target(), ...flags({ ...spaces, parts: 'redis', verify: 'off', retention: 'false', 'age-recipients': recipient }), '--ssh-key-file', keyFile], {
        TITAN_SPACES_ACCESS_KEY: accessKey,
        TITAN_SPACES_SECRET_KEY: secretKey,
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^ {2}complete: true$/m);
      const manifestKey = /^ {2}manifest-key: (.+)$/m.exec(run.stdout)?.[1] ?? '(none)';
      expect(peer.storedKeys()).toContain(manifestKey);
      expect(`${run.stdout}${run.stderr}`).not.toContain(secretKey);
    } finally {
      await peer.close();
    }
  });

  it('SIGINT while it installs: the cancelled status (130) once its finally blocks ran; the lock free, the journal line written, the summary says cancelled, the host healthy', async () => {
    const third = releases[2];
    if (third === undefined) throw new Error('no release');
    const running = startCli(['deploy', ...deployFlags(third.dir)], env);
    expect(await eventually(() => /▶ install$/m.test(running.stderr()), 90_000, 5), running.stderr()).toBe(true);
    running.kill('SIGINT');
    const run = await running.result;
    expect(run.status, run.stderr).toBe(130);
    expect(run.stderr).toContain('SIGINT received: Deploy stops at its next safe point and leaves the host safe.');
    expect(run.stdout).toContain(`⏹️ Deploy cancelled: release ${third.id}`);
    expect(run.stdout).toMatch(/^ {2}result: cancelled$/m);
    expect(stack.journal().findLast((e) => e['action'] === 'deploy' && e['release'] === third.id)).toMatchObject({ result: 'cancelled' });
    expect(await eventually(() => stack.lockFree(), 10_000)).toBe(true);
    expect([releases[0]?.id, third.id]).toContain(stack.current());
    expect(await eventually(() => stack.healthy(), 60_000, 500)).toBe(true);
  });
});
