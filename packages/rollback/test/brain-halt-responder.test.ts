/**
 * The titan-brain stand-in's HARD_HALT responder (examples/titan/images/titan-brain), run with this
 * machine's busybox against a real nats-server with the stack's users: it obeys a HARD_HALT whose
 * HMAC checks, that is fresh and whose nonce it never accepted, records it and answers with an
 * acknowledgement signed with the same secret (checked here with node:crypto); it refuses, says so
 * and records nothing for a forged, altered, stale or replayed one; it connects again by itself
 * when NATS comes back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { openAcknowledgement } from '@titan/rollback/halt-acknowledgement';
import { createHardHalt, openHardHalt, sealHardHalt, type HardHaltCommand } from '@titan/rollback/halt-command';

const RESPONDER = resolve(import.meta.dirname, '../../../examples/titan/images/titan-brain/halt-responder.sh');
/** examples/titan/stack.yml's halt.responder: the service this script runs in. */
const HALT_RESPONDER = 'titan-brain';
const BRAIN_PASSWORD = '12e4 brain-"pass\\word #1';
const CONSOLE_PASSWORD = 'console-password-for-the-test';
/** Every byte class the shell HMAC must carry: spaces, #, quotes, a backslash, '6' and '\\' (whose pads are 0x00), non-ASCII. */
const SECRET = 'hmac #secret \\ "quoted" 6666 ü-€';
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
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      NATS_URL: `nats://127.0.0.1:${port}`,
      NATS_PASSWORD: password,
      HMAC_SECRET: SECRET,
      TITAN_HALT_LOG: log,
      TITAN_HALT_NONCES: `${log}.nonces`,
    },
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

/** Sends a sealed envelope (or any payload) as a request; the raw reply. */
async function request(port: number, payload: Uint8Array | string): Promise<Uint8Array> {
  const nc = await connect({ servers: `127.0.0.1:${port}`, user: 'console', pass: CONSOLE_PASSWORD, reconnect: false });
  try {
    return (await nc.request('titan.cmd.sys.halt', payload, { timeout: 3000 })).data;
  } finally {
    await nc.close();
  }
}

async function requestHalt(port: number, reason: string, fields: Partial<Parameters<typeof createHardHalt>[0]> = {}): Promise<{ reply: Uint8Array; payload: Buffer; command: HardHaltCommand }> {
  const command = createHardHalt({ reason, actor: 'tester', runUrl: '', ...fields });
  const { payload } = sealHardHalt(command, SECRET);
  return { reply: await request(port, payload), payload, command };
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

    const first = await requestHalt(port, 'first halt, "quoted" — ü \\ #');
    expect(openAcknowledgement(first.reply, first.command.nonce, SECRET, HALT_RESPONDER)).toEqual({ ack: true, nonce: first.command.nonce, service: 'titan-brain' });
    expect(openAcknowledgement(first.reply, first.command.nonce, `${SECRET}x`, HALT_RESPONDER)).toMatch(/HMAC signature does not check/);
    const recorded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(recorded).toEqual([first.payload.toString('utf8')]);
    expect(openHardHalt(recorded[0] ?? '', SECRET, { seen: new Set() }).nonce).toBe(first.command.nonce);
    expect(() => openHardHalt(recorded[0] ?? '', 'another secret', { seen: new Set() })).toThrow(/does not match/);
    expect(responder.output()).toContain(first.payload.toString('utf8'));

    nats.kill('SIGTERM');
    await new Promise<void>((done) => nats.once('close', () => done()));
    await until(() => responder.output().includes('trying again in 2 s'), 10_000, 'the responder to back off');
    const subscriptions = responder.output().split('subscribed to').length;
    nats = startNats(port);
    await listening(port);
    await until(() => responder.output().split('subscribed to').length > subscriptions, 20_000, 'the responder to connect again');
    const second = await requestHalt(port, 'second halt');
    expect(openAcknowledgement(second.reply, second.command.nonce, SECRET, HALT_RESPONDER)).toMatchObject({ ack: true, nonce: second.command.nonce });
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  }, 60_000);

  it('refuses a forged, an altered, a stale, a future and a replayed HARD_HALT, saying why, and obeys none of them', async () => {
    const port = await freePort();
    startNats(port);
    await listening(port);
    const log = join(dir, 'refusals.log');
    const responder = startResponder(port, BRAIN_PASSWORD, log);
    await until(() => responder.output().includes('subscribed to titan.cmd.sys.halt'), 20_000, 'the responder to subscribe');
    const refusal = (reply: Uint8Array): string => openAcknowledgement(reply, '0'.repeat(32), SECRET, HALT_RESPONDER) as string;

    const accepted = await requestHalt(port, 'the real one');
    expect(openAcknowledgement(accepted.reply, accepted.command.nonce, SECRET, HALT_RESPONDER)).toMatchObject({ ack: true, service: 'titan-brain' });

    const forged = createHardHalt({ reason: 'forged', actor: 'mallory', runUrl: '' });
    expect(refusal(await request(port, sealHardHalt(forged, 'a guessed secret').payload))).toBe(
      'the reply from titan-brain refuses the command: the HMAC signature does not match the command (wrong secret, or the command was altered)',
    );
    const altered = accepted.payload.toString('utf8').replace('the real one', 'the real two');
    expect(refusal(await request(port, altered))).toMatch(/refuses the command: the HMAC signature does not match/);
    expect(refusal(await request(port, accepted.payload))).toBe(`the reply from titan-brain refuses the command: nonce ${accepted.command.nonce} was accepted before: a replay`);
    const stale = await requestHalt(port, 'stale', { issuedAt: new Date(Date.now() - 600_000) });
    expect(refusal(stale.reply)).toMatch(/refuses the command: the command was issued 6\d\d s ago, more than the 120 s a HARD_HALT stays valid/);
    const future = await requestHalt(port, 'future', { issuedAt: new Date(Date.now() + 600_000) });
    expect(refusal(future.reply)).toMatch(/refuses the command: the command is dated (59\d|600) s in the future/);
    expect(refusal(await request(port, '{"command":{"type":"HARD_HALT"}}'))).toBe('the reply from titan-brain refuses the command: not a signed HARD_HALT envelope');

    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([accepted.payload.toString('utf8')]);
    expect(responder.output().match(/refused a message on titan\.cmd\.sys\.halt: /g)).toHaveLength(6);
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
