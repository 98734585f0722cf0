import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTestHost, readReleaseKey } from '@titan/test-host/test-host';

function acceptsTcp(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer from ${host}:${port} within 5 s`)));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}

describe('test host', () => {
  it('says to run scripts/test-host/up when there is no host.json', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'titan-no-host-'));
    try {
      expect(() => loadTestHost({ TITAN_TEST_HOST_DIR: empty })).toThrow(/scripts\/test-host\/up/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('is up: sshd accepts TCP and the registry answers GET /v2/ with 200', async () => {
    const host = loadTestHost();
    await acceptsTcp(host.host, host.port);
    const response = await fetch(`http://${host.registry}/v2/`);
    expect(response.status).toBe(200);
    expect(Object.keys(host.images)).toHaveLength(17);
    expect(Buffer.from(readReleaseKey(host), 'base64')).toHaveLength(32);
  });
});
