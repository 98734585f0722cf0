/**
 * The titan-brain stand-in's HARD_HALT responder (examples/titan/images/titan-brain), run with this
 * machine's busybox against a real nats-server with the stack's users: it records and acknowledges
 * a HARD_HALT, refuses nothing silently, and connects again by itself when NATS comes back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createHardHalt, openHardHalt, sealHardHalt } from '@titan/rollback/halt-command';

const RESPONDER = resolve(import.meta.dirname, '../../../examples/titan/images/titan-brain/halt-responder.sh');
const BRAIN_PASSWORD = 'brain-"pass\\word';
const CONSOLE_PASSWORD = 'console-password-for-the-test';
const SECRET = 'hmac-secret-for-the-responder-test';
const dir = mkdtempSync(join(tmpdir(), 'titan-brain-responder-'));
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function startNats(port: number): ChildProcess {
  const config = join(dir, 'nats.conf');
  writeFileSync(
    config,
    `listen: 127.0.0.1:${port}\nauthorization { users: [\n` +
      `  { user: brain, password: ${JSON.stringify(BRAIN_PASSWORD)} }\n` +
      `  { user: console, password: ${JSON.stringify(CONSOLE_PASSWORD)}, permissions: { publish: ["titan.cmd.>"], subscribe: ["_INBOX.>"] } }\n]}\n`,
  );
  const child = spawn('nats-server', ['-c', config], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** nats-server takes a moment to listen; the responder's first attempt should find it up. */
async function listening(port: number): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise<boolean>((done) => {
      const socket = connectTcp(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (up) return;
    if (Date.now() > end) throw new Error(`nats-server did not listen on 127.0.0.1:${port} within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startResponder(port: number, password: string, log: string): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn('busybox', ['sh', RESPONDER], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NATS_URL: `nats://127.0.0.1:${port}`, NATS_PASSWORD: password, TITAN_HALT_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that its nc and sleep children end with it.
    detached: true,
  });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  children.push(child);
  return { child, output: () => output };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function requestHalt(port: number, reason: string): Promise<{ reply: Record<string, unknown>; payload: Buffer; nonce: string }> {
  const nc = await connect({ servers: `127.0.0.1:${port}`, user: 'console', pass: CONSOLE_PASSWORD, reconnect: false });
  try {
    const command = createHardHalt({ reason, actor: 'tester', runUrl: '' });
    const { payload } = sealHardHalt(command, SECRET);
    const message = await nc.request('titan.cmd.sys.halt', payload, { timeout: 3000 });
    return { reply: message.json<Record<string, unknown>>(), payload, nonce: command.nonce };
  } finally {
    await nc.close();
  }
}

afterAll(() => {
  for (const child of children) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
});

describe('the titan-brain HARD_HALT responder (busybox sh over nc)', () => {
  it('records the exact payload, acknowledges it with its nonce, and reconnects after NATS restarts', async () => {
    const port = await freePort();
    let nats = startNats(port);
    await listening(port);
    const log = join(dir, 'halts.log');
    const responder = startResponder(port, BRAIN_PASSWORD, log);
    await until(() => responder.output().includes('subscribed to titan.cmd.sys.halt'), 20_000, 'the responder to subscribe');

    const first = await requestHalt(port, 'first halt, "quoted" — ü');
    expect(first.reply).toEqual({ ack: true, nonce: first.nonce, service: 'titan-brain' });
    const recorded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(recorded).toEqual([first.payload.toString('utf8')]);
    expect(openHardHalt(recorded[0] ?? '', SECRET).nonce).toBe(first.nonce);
    expect(() => openHardHalt(recorded[0] ?? '', 'another secret')).toThrow(/does not match/);
    expect(responder.output()).toContain(first.payload.toString('utf8'));

    nats.kill('SIGTERM');
    await new Promise<void>((done) => nats.once('close', () => done()));
    await until(() => responder.output().includes('trying again in 2 s'), 10_000, 'the responder to back off');
    const subscriptions = responder.output().split('subscribed to').length;
    nats = startNats(port);
    await listening(port);
    await until(() => responder.output().split('subscribed to').length > subscriptions, 20_000, 'the responder to connect again');
    const second = await requestHalt(port, 'second halt');
    expect(second.reply).toMatchObject({ ack: true, nonce: second.nonce });
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  }, 60_000);

  it('with a wrong password: says the server refused it, answers nothing, and keeps trying', async () => {
    const port = await freePort();
    startNats(port);
    await listening(port);
    const log = join(dir, 'refused.log');
    const responder = startResponder(port, 'not-the-password', log);
    await until(() => /Authorization Violation/i.test(responder.output()), 20_000, 'the refusal');
    await until(() => responder.output().includes('trying again in'), 20_000, 'a retry');
    await expect(requestHalt(port, 'nobody listens')).rejects.toThrow(/no responders/);
    expect(existsSync(log)).toBe(false);
    expect(responder.output()).not.toContain('not-the-password');
  }, 60_000);
});
