/**
 * The host side of the deploy lock (scripts/deploy-lock.sh) run for real in a temporary application
 * folder: it takes the flock and writes the holder, heartbeats keep it, `release` frees it, a second
 * session waits and then says EXIT_LOCK_BUSY, and a session that ends without a release or goes
 * silent loses the lock with a journal line saying why, after its in-container work was ended.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hostScript } from '@titan/host/host-script';
import { parseRecord } from '@titan/host/host-record';
import { parseJournal } from '@titan/host/journal';
import { EXIT_LOCK_BUSY } from '@titan/ssh/exit-status';
import { type LocalHost, localHost } from './support/local-host.js';

const HOLDER = { runUrl: 'https://ci/runs/9', release: 'r1', actor: 'octo' };
const TOKEN = 'abcdef0123456789abcdef01';

interface Session {
  readonly child: ChildProcessWithoutNullStreams;
  readonly records: string[];
  readonly exited: Promise<number | null>;
  acquired(): Promise<void>;
}

let host: LocalHost;
afterEach(() => host.remove());

function session(wait: number, beatTimeout: number, token = TOKEN): Session {
  const child = spawn('sh', ['-c', hostScript('titan-deploy-lock'), 'titan-deploy-lock', JSON.stringify(HOLDER), String(wait), String(beatTimeout), token], { env: host.env });
  const records: string[] = [];
  let buffer = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const record = parseRecord(line);
      if (record !== undefined) records.push([record.kind, ...record.values].join(' '));
      if (record?.kind === 'lock-acquired') for (const w of waiters.splice(0)) w();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    records,
    exited,
    acquired: () => (records.includes('lock-acquired') ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}

describe('the deploy lock on the host (titan-deploy-lock)', () => {
  it('takes the lock, names its holder, keeps it while heartbeats come, frees it on release', async () => {
    host = localHost('titan-lock-');
    const held = session(5, 60);
    await held.acquired();
    const holder = JSON.parse(host.read(host.layout.lockHolderFile)) as Record<string, unknown>;
    expect(holder).toMatchObject({ ...HOLDER, token: TOKEN, heartbeatTimeout: 60, pid: held.child.pid });
    const second = host.run('titan-deploy-lock', [JSON.stringify(HOLDER), '0', '60', 'ffff0000ffff0000ffff0000']);
    expect(second.status).toBe(EXIT_LOCK_BUSY);
    held.child.stdin.write('beat\n');
    held.child.stdin.write('release\n');
    held.child.stdin.end();
    expect(await held.exited).toBe(0);
    expect(existsSync(host.layout.lockHolderFile)).toBe(false);
    expect(existsSync(host.layout.journal)).toBe(false);
  });

  it('a session that ends without release loses the lock: its work is ended, the journal says why, the lock is free', async () => {
    host = localHost('titan-lock-');
    // In-container work of this session, as apply-migration.sh records it; docker says it is gone.
    writeFileSync(`${host.layout.stateDir}/work-${TOKEN}-migration`, 'c0ffee titan titan_db titan-migration-x\n');
    host.stub('docker', 'echo 0');
    const held = session(5, 60);
    await held.acquired();
    held.child.stdin.end();
    expect(await held.exited).toBe(0);
    expect(held.records).toContain('lock-lost the SSH session ended without releasing the lock');
    expect(existsSync(`${host.layout.stateDir}/work-${TOKEN}-migration`)).toBe(false);
    expect(host.calls('docker')[0]).toMatch(/^docker exec -i c0ffee psql .* -U titan -d titan_db -v name=titan-migration-x$/);
    const [line] = parseJournal(host.read(host.layout.journal));
    expect(Object.keys(line ?? {})).toEqual(['time', 'action', 'result', 'reason', 'holder']);
    expect(line).toMatchObject({ action: 'lock', result: 'lost', reason: 'the SSH session ended without releasing the lock', holder: HOLDER });
    expect(host.read(host.layout.stateFile('lock.log'))).toContain('released the deploy lock');
    expect(existsSync(host.layout.lockHolderFile)).toBe(false);
    const next = host.run('titan-deploy-lock', [JSON.stringify(HOLDER), '0', '60', 'ffff0000ffff0000ffff0000'], { stdin: 'release\n' });
    expect(next.status).toBe(0);
  });

  it('a silent runner loses the lock after heartbeat-timeout', async () => {
    host = localHost('titan-lock-');
    const held = session(5, 1);
    await held.acquired();
    expect(await held.exited).toBe(0);
    expect(held.records.find((r) => r.startsWith('lock-lost '))).toMatch(/^lock-lost no heartbeat from the runner for \d+ s \(heartbeat-timeout 1 s\)$/);
    expect(parseJournal(host.read(host.layout.journal))[0]).toMatchObject({ action: 'lock', result: 'lost' });
    held.child.stdin.end();
  });

  it('a holder that stopped heartbeating for twice its timeout and still holds the lock is ended by the next one', async () => {
    host = localHost('titan-lock-');
    // The frozen watchdog: holds the flock, its holder file old and naming its session token.
    const frozen = spawn('sh', ['-c', `exec 9>> "$1"; flock 9; echo locked; exec sh -c 'sleep 60' titan-deploy-lock ${TOKEN}`, 'titan-deploy-lock', host.layout.lockFile], { detached: true });
    await new Promise<void>((resolve) => frozen.stdout.once('data', () => resolve()));
    writeFileSync(host.layout.lockHolderFile, `{"pid":${frozen.pid},"pgid":${frozen.pid},"heartbeatTimeout":1,"token":"${TOKEN}"}\n`);
    spawnSync('touch', ['-d', '10 seconds ago', host.layout.lockHolderFile]);
    const next = session(20, 60, 'ffff0000ffff0000ffff0000');
    let stderr = '';
    next.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    await next.acquired();
    expect(parseRecord(stderr.trim().split('\n')[0] ?? '')).toMatchObject({ kind: 'stale-holder-ended', values: [String(frozen.pid), expect.stringMatching(/^\d+$/), '1'] });
    next.child.stdin.end('release\n');
    expect(await next.exited).toBe(0);
    expect(frozen.exitCode ?? frozen.signalCode).toBe('SIGKILL');
  });
});
