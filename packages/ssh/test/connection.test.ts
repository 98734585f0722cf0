/**
 * Connecting to the real test host: host key pinning (plain, hashed, rotated, revoked, fingerprint,
 * unknown host), refusal before authentication, authentication failures, configuration errors,
 * retries with backoff on transient failures only, and key material kept out of every message.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { AuthenticationError, ConnectError, HostKeyMismatchError, SshConfigError } from '@titan/ssh/errors';
import { authorizeKey, connectToTestHost, generateKey, hostOptions, sshdLogFrom, testHost } from './support.js';

const [, hostKeyType = '', hostKeyBase64 = ''] = testHost.knownHosts.trim().split(/\s+/);
const otherKey = generateKey('not-the-host-key');
const [otherType = '', otherBase64 = ''] = otherKey.publicKey.split(' ');
const hostPattern = `[${testHost.host}]:${testHost.port}`;
const wrongLine = `${hostPattern} ${otherType} ${otherBase64}`;

async function refusal(hostKeys: string[], extra: Parameters<typeof hostOptions>[0] = {}): Promise<HostKeyMismatchError> {
  const error = await connectSsh(hostOptions({ hostKeys, ...extra })).then(
    async (c) => {
      await c.close();
      throw new Error('connected, but the host key should have been refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HostKeyMismatchError);
  return error as HostKeyMismatchError;
}

async function connectsWith(hostKeys: string[]): Promise<void> {
  const { connection } = await connectToTestHost({ hostKeys });
  try {
    expect((await connection.run(['id', '-un'])).stdout.trim()).toBe(testHost.user);
    expect(connection.hostKey.fingerprint).toBe(testHost.hostKeyFingerprint);
  } finally {
    await connection.close();
  }
}

describe('host key pinning', () => {
  test('the pinned known_hosts line connects', async () => {
    await connectsWith([testHost.knownHosts]);
  });

  test('the SHA256 fingerprint as ssh-keygen prints it connects, and so does the host .pub file', async () => {
    await connectsWith([testHost.hostKeyFingerprint]);
    await connectsWith([readFileSync(testHost.hostKeyPath, 'utf8')]);
  });

  test('a wrong host key is refused, naming host, port, key type and the fingerprint seen', async () => {
    const error = await refusal([wrongLine]);
    expect(error.reason).toBe('not-pinned');
    expect(error.host).toBe(testHost.host);
    expect(error.port).toBe(testHost.port);
    expect(error.keyType).toBe(hostKeyType);
    expect(error.fingerprint).toBe(testHost.hostKeyFingerprint);
    expect(error.message).toContain(`${testHost.host} port ${testHost.port}`);
    expect(error.message).toContain(`${hostKeyType} key ${testHost.hostKeyFingerprint}`);
    expect(error.message).toContain(otherKey.fingerprint);
  });

  test('the right key pinned only for another host name or port: "no pin for this host", before anything is sent', async () => {
    const forOtherPort = `[${testHost.host}]:${testHost.port + 1} ${hostKeyType} ${hostKeyBase64}`;
    const forOtherName = `[localhost]:${testHost.port} ${hostKeyType} ${hostKeyBase64}`;
    const log = sshdLogFrom();
    const error = await connectSsh(hostOptions({ hostKeys: [forOtherPort, forOtherName] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SshConfigError);
    expect(error).not.toBeInstanceOf(HostKeyMismatchError);
    expect(String(error)).toContain(`No pin for this host: no known_hosts entry names [${testHost.host}]:${testHost.port}`);
    expect(String(error)).toContain(`are for [${testHost.host}]:${testHost.port + 1}, [localhost]:${testHost.port}.`);
    expect(String(error)).not.toMatch(/mismatch|refused/i);
    expect(log()).not.toContain('Connection from');
  });

  test('a hashed known_hosts entry (ssh-keygen -H) connects; hashed for another port it is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'titan-known-hosts-'));
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `${testHost.knownHosts.trim()}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const hashed = readFileSync(file, 'utf8');
    expect(hashed).toMatch(/^\|1\|[^ ]+ ssh-/);
    await connectsWith([hashed]);

    writeFileSync(file, `[${testHost.host}]:${testHost.port + 1} ${hostKeyType} ${hostKeyBase64}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    await expect(connectSsh(hostOptions({ hostKeys: [readFileSync(file, 'utf8')] }))).rejects.toThrow(/^No pin for this host: .*a hashed host name/);
    rmSync(dir, { recursive: true, force: true });
  });

  test('two keys pinned for one host (one wrong, one right) connect: key rotation', async () => {
    await connectsWith([wrongLine, testHost.knownHosts]);
    await connectsWith([`${wrongLine}\n${testHost.knownHosts}`]);
  });

  test('a key marked @revoked is refused even though it is also pinned', async () => {
    const error = await refusal([testHost.knownHosts, `@revoked * ${hostKeyType} ${hostKeyBase64}`]);
    expect(error.reason).toBe('revoked');
    expect(error.message).toContain(testHost.hostKeyFingerprint);
  });

  test('an IPv6 literal host connects, bracketed or not, with its key pinned for [::1]:port', async () => {
    const pin = `[::1]:${testHost.port} ${hostKeyType} ${hostKeyBase64}`;
    for (const host of ['::1', '[::1]']) {
      const { connection } = await connectToTestHost({ host, hostKeys: [pin] });
      try {
        expect(connection.host).toBe('::1');
        expect((await connection.run(['sh', '-c', 'echo "$SSH_CONNECTION"'])).stdout).toMatch(/^::1 \d+ ::1 \d+\n$/);
      } finally {
        await connection.close();
      }
    }
    // The IPv4 pin names 127.0.0.1, not ::1.
    await expect(connectSsh(hostOptions({ host: '::1', hostKeys: [testHost.knownHosts] }))).rejects.toThrow(/^No pin for this host: no known_hosts entry names \[::1\]:/);
  });

  test('an empty pin list is a configuration error, before any connection', async () => {
    await expect(connectSsh(hostOptions({ hostKeys: [] }))).rejects.toThrow(SshConfigError);
    await expect(connectSsh(hostOptions({ hostKeys: ['# just a comment'] }))).rejects.toThrow(/No host key is pinned/);
  });
});

describe('refusal happens before authentication', () => {
  const stranger = generateKey('never-authorised');

  test('with a wrong host key the server never sees the client key; with the right one it does (and refuses it)', async () => {
    const during = sshdLogFrom();
    const error = await refusal([wrongLine], { privateKey: stranger.privateKey });
    expect(error.message).toContain(testHost.hostKeyFingerprint);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(during()).not.toContain(stranger.fingerprint);

    // Control: same unauthorised key, right pin: authentication is attempted and fails.
    const authFailure = await connectSsh(hostOptions({ privateKey: stranger.privateKey })).catch((e: unknown) => e);
    expect(authFailure).toBeInstanceOf(AuthenticationError);
    expect(String(authFailure)).toContain(`Authentication as ${testHost.user} on ${testHost.host} port ${testHost.port} failed`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(during()).toContain(`Failed publickey for ${testHost.user} from 127.0.0.1`);
    expect(during()).toContain(stranger.fingerprint);
  });
});

describe('keys and passphrases stay secret', () => {
  const encrypted = generateKey('encrypted', 'correct horse battery');
  let admin: SshConnection;
  let unauthorize: () => Promise<void>;

  beforeAll(async () => {
    admin = (await connectToTestHost()).connection;
    unauthorize = await authorizeKey(admin, encrypted.publicKey);
  });

  afterAll(async () => {
    await unauthorize();
    await admin.close();
  });

  test('an encrypted key connects with its passphrase; neither appears in any log line', async () => {
    const { connection, logger } = await connectToTestHost({ privateKey: encrypted.privateKey, passphrase: 'correct horse battery' });
    await connection.run(['true']);
    await connection.close();
    const keyBody = encrypted.privateKey.split('\n')[2] ?? 'missing';
    expect(logger.text()).not.toContain('correct horse');
    expect(logger.text()).not.toContain(keyBody);
    expect(logger.text()).toContain('Connected to');
  });

  test('a wrong or missing passphrase is a configuration error that does not repeat it', async () => {
    const wrong = await connectSsh(hostOptions({ privateKey: encrypted.privateKey, passphrase: 'wrong horse' })).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(SshConfigError);
    expect(String(wrong)).not.toContain('wrong horse');
    const missing = await connectSsh(hostOptions({ privateKey: encrypted.privateKey })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SshConfigError);
    expect(String(missing)).toMatch(/passphrase/);
    const garbage = await connectSsh(hostOptions({ privateKey: 'not a key at all' })).catch((e: unknown) => e);
    expect(garbage).toBeInstanceOf(SshConfigError);
    expect(String(garbage)).not.toContain('not a key at all');
  });
});

describe('retries', () => {
  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise((resolve) => server.close(resolve));
    return typeof address === 'object' && address ? address.port : 0;
  }

  test('connection refused is retried with exponential backoff, then reported with the attempt count', async () => {
    const port = await freePort();
    const options = hostOptions({ port, hostKeys: [testHost.hostKeyFingerprint], retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1000 } });
    const started = performance.now();
    const error = await connectSsh(options).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).attempts).toBe(3);
    expect(String(error)).toContain(`127.0.0.1 port ${port} after 3 attempts`);
    expect(String(error)).toContain('ECONNREFUSED');
    expect(options.logger.lines.filter((l) => l.message.includes('retrying in')).length).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(0.8 * (100 + 200));
  });

  test('a host that comes up while we back off is reached', async () => {
    const port = await freePort();
    let proxy: Server | undefined;
    const sockets: Socket[] = [];
    const timer = setTimeout(() => {
      proxy = createServer((client) => {
        const upstream = netConnect(testHost.port, testHost.host);
        sockets.push(client, upstream);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      }).listen(port, '127.0.0.1');
    }, 300);
    try {
      const options = hostOptions({ port, hostKeys: [testHost.hostKeyFingerprint], retry: { attempts: 6, initialDelayMs: 100 } });
      const connection = await connectSsh(options);
      expect((await connection.run(['echo', 'up'])).stdout).toBe('up\n');
      await connection.close();
      expect(options.logger.text()).toContain('ECONNREFUSED');
    } finally {
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
    }
  });

  test('a server that never answers the handshake times out per attempt', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const options = hostOptions({ port, hostKeys: [testHost.hostKeyFingerprint], connectTimeoutMs: 1000, retry: { attempts: 2, initialDelayMs: 50 } });
      const started = performance.now();
      const error = await connectSsh(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect(String(error)).toMatch(/after 2 attempts: handshake timed out/);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  test('a host key mismatch and an authentication failure are never retried', async () => {
    for (const overrides of [{ hostKeys: [wrongLine] }, { privateKey: generateKey('stranger').privateKey }]) {
      const options = hostOptions({ ...overrides, retry: { attempts: 5, initialDelayMs: 2000 } });
      const started = performance.now();
      const error = await connectSsh(options).catch((e: unknown) => e);
      expect(error instanceof HostKeyMismatchError || error instanceof AuthenticationError).toBe(true);
      expect(performance.now() - started).toBeLessThan(1500);
      expect(options.logger.text()).not.toContain('retrying');
    }
  });
});
