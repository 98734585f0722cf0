/**
 * Tunnels through the real test host to a port published on the host's loopback only: a busybox
 * httpd container (`-p 127.0.0.1::8080`), reached raw (openTunnel) and through a local listener
 * (forwardLocal) with an ordinary HTTP client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SshConnection } from '@titan/ssh/connection';
import { TunnelError } from '@titan/ssh/errors';
import { connectToTestHost, eventually } from './support.js';

let connection: SshConnection;
const container = `titan-ssh-tunnel-${randomBytes(4).toString('hex')}`;
let port = 0;
const bigDigest = { value: '' };

function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

async function httpGet(path: string): Promise<Buffer> {
  const tunnel = await connection.openTunnel('127.0.0.1', port);
  const response = readAll(tunnel);
  tunnel.end(`GET ${path} HTTP/1.0\r\nHost: localhost\r\n\r\n`);
  return response;
}

beforeAll(async () => {
  ({ connection } = await connectToTestHost());
  const script = 'mkdir -p /www && echo "hello from the host" > /www/index.html && head -c 3000000 /dev/urandom > /www/big && exec httpd -f -p 8080 -h /www';
  await connection.run(['docker', 'run', '-d', '--rm', '--name', container, '-p', '127.0.0.1::8080', 'titan-base/busybox:local', 'sh', '-c', script]);
  const published = (await connection.run(['docker', 'port', container, '8080/tcp'])).stdout.trim().split('\n')[0] ?? '';
  expect(published).toMatch(/^127\.0\.0\.1:\d+$/);
  port = Number(published.split(':')[1]);
  const ready = await eventually(async () => (await httpGet('/index.html').catch(() => Buffer.alloc(0))).includes('hello'), 10_000);
  expect(ready).toBe(true);
  const digest = await connection.run(['docker', 'exec', container, 'sha256sum', '/www/big']);
  bigDigest.value = digest.stdout.split(' ')[0] ?? '';
});

afterAll(async () => {
  await connection.run(['docker', 'rm', '-f', container], { acceptExitCodes: [1] });
  await connection.close();
});

describe('openTunnel', () => {
  test('is a TCP connection to the address as seen from the host', async () => {
    const response = (await httpGet('/index.html')).toString();
    expect(response).toMatch(/^HTTP\/1\.[01] 200 OK/);
    expect(response).toContain('\r\n\r\nhello from the host\n');
  });

  test('carries megabytes intact', async () => {
    const response = await httpGet('/big');
    const body = response.subarray(response.indexOf('\r\n\r\n') + 4);
    expect(body.length).toBe(3_000_000);
    expect(createHash('sha256').update(body).digest('hex')).toBe(bigDigest.value);
  });

  test('a port nothing listens on is a TunnelError naming the target', async () => {
    await expect(connection.openTunnel('127.0.0.1', 1)).rejects.toThrow(TunnelError);
    await expect(connection.openTunnel('127.0.0.1', 1)).rejects.toThrow(/tunnel to 127\.0\.0\.1:1 from 127\.0\.0\.1 port \d+/);
  });
});

describe('forwardLocal', () => {
  test('a local 127.0.0.1 listener forwards every connection; an HTTP client just works', async () => {
    const forward = await connection.forwardLocal('127.0.0.1', port);
    try {
      expect(forward.localHost).toBe('127.0.0.1');
      const bodies = await Promise.all(Array.from({ length: 10 }, async () => (await fetch(forward.url('/index.html'))).text()));
      expect(bodies).toEqual(Array.from({ length: 10 }, () => 'hello from the host\n'));
      const big = Buffer.from(await (await fetch(forward.url('/big'))).arrayBuffer());
      expect(createHash('sha256').update(big).digest('hex')).toBe(bigDigest.value);
    } finally {
      await forward.close();
    }
    const refused = await new Promise<string>((resolve) => {
      const socket = netConnect(forward.localPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  test('closing the SSH connection closes its forwards', async () => {
    const { connection: own } = await connectToTestHost();
    const forward = await own.forwardLocal('127.0.0.1', port);
    expect(await (await fetch(forward.url('/index.html'))).text()).toBe('hello from the host\n');
    await own.close();
    await expect(fetch(forward.url('/index.html'))).rejects.toThrow();
  });
});
