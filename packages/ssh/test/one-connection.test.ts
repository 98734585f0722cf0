/**
 * One connection per host: commands, an upload, a tree upload and a tunnel through one client
 * authenticate exactly once, as sshd's own log (LogLevel VERBOSE) shows. The test uses a key of
 * its own, authorised for the duration, so that other sessions' logins cannot be counted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SshConnection } from '@titan/ssh/connection';
import { authorizeKey, connectToTestHost, generateKey, sshdLogFrom, testHost } from './support.js';

const key = generateKey('one-connection-test');
let admin: SshConnection;
let unauthorize: () => Promise<void>;

beforeAll(async () => {
  ({ connection: admin } = await connectToTestHost());
  unauthorize = await authorizeKey(admin, key.publicKey);
});

afterAll(async () => {
  await unauthorize();
  await admin.close();
});

function firstLine(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\n');
      if (end >= 0) {
        stream.destroy();
        resolve(text.slice(0, end).trim());
      }
    });
    stream.once('error', reject);
  });
}

test('commands, uploads and a tunnel authenticate exactly once', async () => {
  const during = sshdLogFrom();
  const { connection } = await connectToTestHost({ privateKey: key.privateKey });
  try {
    const dir = (await connection.run(['mktemp', '-d', '/tmp/titan-ssh-one.XXXXXX'])).stdout.trim();
    await Promise.all(Array.from({ length: 10 }, (_, i) => connection.run(['echo', String(i)])));
    await connection.uploadFile(Buffer.from('one file'), `${dir}/file`);
    const tree = mkdtempSync(join(tmpdir(), 'titan-one-tree-'));
    writeFileSync(join(tree, 'a'), 'a');
    await connection.uploadTree(tree, `${dir}/tree`);
    rmSync(tree, { recursive: true, force: true });
    const banner = await firstLine(await connection.openTunnel('127.0.0.1', testHost.port));
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
    const forward = await connection.forwardLocal('127.0.0.1', testHost.port);
    await forward.close();
    expect((await connection.run(['cat', `${dir}/file`, `${dir}/tree/a`])).stdout).toBe('one filea');
    await connection.run(['rm', '-rf', '--', dir]);
  } finally {
    await connection.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const accepted = during()
    .split('\n')
    .filter((line) => line.startsWith(`Accepted publickey for ${testHost.user} `) && line.includes(key.fingerprint));
  expect(accepted).toHaveLength(1);
});
