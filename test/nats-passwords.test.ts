/**
 * The stack's NATS carries any password: the example's nats service (its image as the test host
 * pushed it, its compose definition, its config/nats.conf) brought up for real with Compose, with an
 * env file written as an operator writes one, ten users at a time, and every user authenticating
 * with its password over the NATS protocol (nats.js). The passwords are of every shape that breaks
 * a configuration parser reading them as values: numbers in every spelling, booleans, sizes, `#`,
 * spaces, brackets, non-ASCII; the gate accepts the long ones, and the short ones (`true`, `1k`) are
 * carried too. A wrong password is refused, so the check can fail.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDotenv } from '@titan/gatekeeper/dotenv';
import { checkProductionValues } from '@titan/gatekeeper/production-values';
import { loadTestHost } from '@titan/test-host/test-host';
import { TITAN_VALUES, TROUBLESOME_PASSWORDS } from '../packages/gatekeeper/test/release-fixture.js';

const host = loadTestHost();
const PROJECT = 'natspasswords';
const USERS: Record<string, string> = {
  NATS_SYS_PASSWORD: 'sys',
  NATS_BRAIN_PASSWORD: 'brain',
  NATS_EXECUTION_PASSWORD: 'execution',
  NATS_SCAVENGER_PASSWORD: 'scavenger',
  NATS_HUNTER_PASSWORD: 'hunter',
  NATS_SENTINEL_PASSWORD: 'sentinel',
  NATS_POWERLAW_PASSWORD: 'powerlaw',
  NATS_QUANT_PASSWORD: 'quant',
  NATS_CONSOLE_PASSWORD: 'console',
  NATS_BACKUP_PASSWORD: 'backup',
};
const dir = mkdtempSync(join(tmpdir(), 'titan-nats-passwords-'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** How an operator writes a value: bare when that reads back the same, single-quoted otherwise. */
function written(value: string): string {
  return /^[A-Za-z0-9_./:@+-]+$/.test(value) ? value : `'${value}'`;
}

function compose(envFile: string, override: string, args: readonly string[]): void {
  const files = ['-f', join(host.example, 'docker-compose.yml'), '-f', override];
  execFileSync('docker', ['compose', '-p', PROJECT, '--project-directory', host.example, ...files, '--env-file', envFile, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function removeProject(): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore' });
  const volumes = execFileSync('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (volumes.length > 0) spawnSync('docker', ['volume', 'rm', '-f', ...volumes], { stdio: 'ignore' });
  const networks = execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (networks.length > 0) spawnSync('docker', ['network', 'rm', ...networks], { stdio: 'ignore' });
}

async function authenticates(port: number, user: string, pass: string): Promise<string> {
  try {
    const nc = await connect({ servers: `127.0.0.1:${port}`, user, pass, reconnect: false, timeout: 3000 });
    await nc.flush();
    await nc.close();
    return 'ok';
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** NATS of the example with these passwords (NATS_* name -> password), up and answering on a free port. */
async function natsWith(passwords: Record<string, string>): Promise<{ port: number; envText: string }> {
  const base = parseDotenv(readFileSync(join(host.appDir, 'shared', '.env.prod'), 'utf8'), '.env.prod').entries;
  const values = new Map(base.map((e) => [e.name, e.value]));
  for (const [name, password] of Object.entries(passwords)) values.set(name, password);
  const envText = `# production values, written by hand\n${[...values].map(([k, v]) => `${k}=${written(v)}`).join('\n')}\n`;
  const envFile = join(dir, 'prod.env');
  writeFileSync(envFile, envText, { mode: 0o600 });
  const port = await freePort();
  const override = join(dir, 'override.yml');
  writeFileSync(override, `services:\n  nats:\n    image: ${host.images['nats'] ?? ''}\n    ports: ["127.0.0.1:${port}:4222"]\n`);
  removeProject();
  compose(envFile, override, ['up', '-d', 'nats']);
  const until = Date.now() + 30_000;
  let last = '';
  while (Date.now() < until) {
    last = await authenticates(port, 'sys', passwords['NATS_SYS_PASSWORD'] ?? values.get('NATS_SYS_PASSWORD') ?? '');
    if (last === 'ok') return { port, envText };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const logs = spawnSync('docker', ['compose', '-p', PROJECT, '--project-directory', host.example, '-f', join(host.example, 'docker-compose.yml'), '-f', override, '--env-file', envFile, 'logs', 'nats'], { encoding: 'utf8' });
  throw new Error(`nats did not accept user sys within 30 s (${last}):\n${logs.stdout}${logs.stderr}`);
}

afterAll(() => {
  removeProject();
});

describe("the stack's NATS with passwords of every troublesome shape", () => {
  it('the production values scripts/test-host/up generated pass the gate, and NATS carries them', async () => {
    const file = join(host.appDir, 'shared', '.env.prod');
    const text = readFileSync(file, 'utf8');
    const findings = checkProductionValues({ sources: [{ origin: '.env.prod', parsed: parseDotenv(text, '.env.prod') }], ...TITAN_VALUES });
    expect(findings.map((f) => `${f.message} (${f.fix})`)).toEqual([]);
    const values = new Map(parseDotenv(text, '.env.prod').entries.map((e) => [e.name, e.value]));
    const { port } = await natsWith({});
    for (const [name, user] of Object.entries(USERS)) expect(await authenticates(port, user, values.get(name) ?? ''), user).toBe('ok');
  });

  // One distinct password per user in each round.
  const users = TITAN_VALUES.distinct.length;
  const rounds: string[][] = [TROUBLESOME_PASSWORDS.slice(0, users), [...TROUBLESOME_PASSWORDS.slice(users), 'true', '1k', '1234', '0x1F', 'off', '64MB'].slice(0, users)];

  it.each(rounds.map((passwords, i) => [i + 1, passwords] as const))('round %i: every user authenticates with its password, a wrong one is refused', async (_round, passwords) => {
    const assigned = Object.fromEntries(TITAN_VALUES.distinct.map((name, i) => [name, passwords[i % passwords.length] ?? '']));
    const { port, envText } = await natsWith(assigned);
    const results: Record<string, string> = {};
    for (const [name, user] of Object.entries(USERS)) results[user] = await authenticates(port, user, assigned[name] ?? '');
    expect(results).toEqual(Object.fromEntries(Object.values(USERS).map((u) => [u, 'ok'])));
    expect(await authenticates(port, 'console', `${assigned['NATS_CONSOLE_PASSWORD'] ?? ''}x`)).toMatch(/authorization/i);

    // The gate reads the same file as accepting every password long enough to be one it generates.
    const findings = checkProductionValues({ sources: [{ origin: 'prod.env', parsed: parseDotenv(envText, 'prod.env') }], ...TITAN_VALUES });
    const gateRefused = new Set(findings.map((f) => f.message.split(' ')[0]));
    for (const [name, password] of Object.entries(assigned)) {
      expect(gateRefused.has(name), `${name}: ${findings.find((f) => f.message.startsWith(name))?.message ?? ''}`).toBe(password.length < 16 || new Set(password).size < 6 || Object.values(assigned).filter((p) => p === password).length > 1);
    }
  });
});
