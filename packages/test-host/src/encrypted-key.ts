/**
 * A passphrase-protected SSH key for the test host's deploy user, made at run time: ssh-keygen
 * writes it encrypted (OpenSSH format, aes256-ctr, bcrypt KDF) and reads the passphrase through
 * SSH_ASKPASS from the environment, so the passphrase is never on a command line. Its public half
 * is added to the deploy user's authorized_keys under a comment of its own (scripts/test-host/up
 * keeps lines that tests add) and removed again by `remove()`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestHost } from './test-host.js';

const run = promisify(execFile);

export interface EncryptedDeployKey {
  /** The private key, OpenSSH format, encrypted. */
  readonly privateKey: string;
  /** Its passphrase (a secret). */
  readonly passphrase: string;
  /** Takes the key out of authorized_keys and deletes it. */
  remove(): Promise<void>;
}

async function authorizedKeysPath(host: TestHost): Promise<string> {
  const { stdout } = await run('getent', ['passwd', host.user]);
  const home = stdout.trim().split(':')[5];
  if (home === undefined || home === '') throw new Error(`no home folder for ${host.user}`);
  return join(home, '.ssh', 'authorized_keys');
}

export async function createEncryptedDeployKey(host: TestHost): Promise<EncryptedDeployKey> {
  const dir = await mkdtemp(join(tmpdir(), 'titan-encrypted-key-'));
  const passphrase = randomBytes(18).toString('base64url');
  const askpass = join(dir, 'askpass');
  await writeFile(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$TITAN_KEY_PASSPHRASE"\n', { mode: 0o700 });
  const comment = `titan-test-encrypted-${randomBytes(6).toString('hex')}`;
  const key = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-C', comment, '-f', key], {
    env: { ...process.env, TITAN_KEY_PASSPHRASE: passphrase, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'none' },
  });
  const privateKey = await readFile(key, 'utf8');
  if (!privateKey.includes('BEGIN OPENSSH PRIVATE KEY') || !/aes256-ctr/.test(Buffer.from(privateKey.split('\n').slice(1, -2).join(''), 'base64').toString('latin1'))) {
    throw new Error('ssh-keygen did not write an encrypted key');
  }
  const publicLine = (await readFile(`${key}.pub`, 'utf8')).trim();
  const authorized = await authorizedKeysPath(host);
  const before = await readFile(authorized, 'utf8');
  await writeFile(authorized, `${before.endsWith('\n') || before === '' ? before : `${before}\n`}${publicLine}\n`);
  await chmod(authorized, 0o600);
  await rm(dir, { recursive: true, force: true });
  return {
    privateKey,
    passphrase,
    async remove() {
      const text = await readFile(authorized, 'utf8');
      await writeFile(authorized, text.split('\n').filter((line) => !line.endsWith(` ${comment}`)).join('\n'));
    },
  };
}
