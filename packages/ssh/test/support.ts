/**
 * Shared set-up of the integration tests: the real test host (scripts/test-host/up), connections to
 * it, freshly generated keys, and reading what sshd logged during a test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RecordingLogger, recordingLogger } from '@titan/log/logger';
import { type SshConnectOptions, connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { loadTestHost } from '@titan/test-host/test-host';

/** The test host; loading it throws (failing every integration test) when there is none. */
export const testHost = loadTestHost();

export interface Connected {
  connection: SshConnection;
  logger: RecordingLogger;
}

/** Options that reach the test host as its deploy user. */
export function hostOptions(overrides: Partial<SshConnectOptions> = {}): SshConnectOptions & { logger: RecordingLogger } {
  const logger = recordingLogger();
  return {
    host: testHost.host,
    port: testHost.port,
    username: testHost.user,
    privateKey: readFileSync(testHost.privateKeyPath, 'utf8'),
    hostKeys: [testHost.knownHosts],
    retry: { attempts: 1 },
    ...overrides,
    logger,
  };
}

export async function connectToTestHost(overrides: Partial<SshConnectOptions> = {}): Promise<Connected> {
  const options = hostOptions(overrides);
  return { connection: await connectSsh(options), logger: options.logger };
}

/** A fresh ed25519 key pair made by ssh-keygen (its files removed once read). */
export function generateKey(comment: string, passphrase = ''): { privateKey: string; publicKey: string; fingerprint: string } {
  const dir = mkdtempSync(join(tmpdir(), 'titan-ssh-key-'));
  try {
    const path = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', path]);
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
    return { privateKey: readFileSync(path, 'utf8'), publicKey: readFileSync(`${path}.pub`, 'utf8').trim(), fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads what sshd appends to its log from now on. */
export function sshdLogFrom(): () => string {
  const start = statSync(testHost.sshdLog).size;
  return () => readFileSync(testHost.sshdLog).subarray(start).toString('utf8');
}

/** Authorises `publicKey` for the deploy user until the returned function is called. */
export async function authorizeKey(connection: SshConnection, publicKey: string): Promise<() => Promise<void>> {
  await connection.runScript('umask 077; printf "%s\\n" "$1" >> "$HOME/.ssh/authorized_keys"', [publicKey], { name: 'authorize-test-key' });
  return async () => {
    await connection.runScript(
      'f="$HOME/.ssh/authorized_keys"; grep -vxF -- "$1" "$f" > "$f.tmp" || true; cat "$f.tmp" > "$f"; rm -f "$f.tmp"',
      [publicKey],
      { name: 'remove-test-key' },
    );
  };
}

/** Waits until `check` returns true, polling. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}
