import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeOpenSshKeyPair, generateInjectedHostKey } from '../src/injected-host-key.js';

describe('the injected first-boot host key', () => {
  it('is a key file OpenSSH reads, whose public half and fingerprint are what ssh-keygen derives', () => {
    const dir = mkdtempSync(join(tmpdir(), 'titan-injected-key-'));
    for (let i = 0; i < 8; i++) {
      const key = generateInjectedHostKey();
      const file = join(dir, `key-${i}`);
      writeFileSync(file, key.privateKey, { mode: 0o600 });
      expect(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim()).toBe(key.publicKey);
      expect(execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(' ')[1]).toBe(key.fingerprint);
    }
  });

  it('keeps every byte of keys that start with zero bytes (ssh2 drops them)', () => {
    const seed = Buffer.alloc(32, 7);
    const publicKey = Buffer.concat([Buffer.alloc(2), Buffer.alloc(30, 9)]);
    const pair = encodeOpenSshKeyPair(publicKey, seed, 'zero');
    const file = join(mkdtempSync(join(tmpdir(), 'titan-injected-key-')), 'zero');
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    const read = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
    expect(read.split(' ').slice(0, 2)).toEqual(pair.publicKey.split(' ').slice(0, 2));
    expect(Buffer.from(read.split(' ')[1] ?? '', 'base64').subarray(-32)).toEqual(publicKey);
    for (let i = 0; i < 2000; i++) {
      const key = generateInjectedHostKey();
      const raw = Buffer.from(key.publicKey.split(' ')[1] ?? '', 'base64');
      expect(raw.length).toBe(51);
    }
  });
});
