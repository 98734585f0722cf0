import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncryptedDeployKey, type EncryptedDeployKey } from '@titan/test-host/encrypted-key';
import { runActionBundle } from '@titan/test-host/action-run';
import { loadTestHost, type TestHost } from '@titan/test-host/test-host';

/**
 * ssh-key-passphrase, an input of every host action, with a real passphrase-protected key made at
 * run time and authorized on the test host: the right passphrase connects (action-verify reaches the
 * host and reports on its stack), a wrong or missing one is refused with a clear error, and the
 * passphrase never appears in the log. (The deploy workflow's staging environment deploys, verifies
 * and halts through such a key: test/workflows/deploy-workflow.test.ts.)
 */
/** The log as a runner shows it: `::add-mask::` registrations are consumed, never shown. */
const shown = (log: string): string =>
  log
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');

describe('ssh-key-passphrase', () => {
  let host: TestHost;
  let key: EncryptedDeployKey;

  beforeAll(async () => {
    host = loadTestHost();
    key = await createEncryptedDeployKey(host);
  });
  afterAll(async () => {
    await key.remove();
  });

  const connection = (passphrase: string | undefined): Record<string, string> => ({
    host: host.host,
    port: String(host.port),
    user: host.user,
    'ssh-key': key.privateKey,
    ...(passphrase !== undefined ? { 'ssh-key-passphrase': passphrase } : {}),
    'known-hosts': host.knownHosts,
    'app-dir': host.appDir,
  });

  it('the right passphrase connects', { timeout: 120_000 }, async () => {
    const run = await runActionBundle('action-verify', { inputs: { ...connection(key.passphrase), timeout: '5' } });
    expect(run.log).toMatch(/Connect to deploy@127\.0\.0\.1/);
    expect(shown(run.log)).not.toMatch(/cannot be used|passphrase|authentication/i);
    // Connected: the verification ran against the host (healthy or not, whatever runs there now).
    expect(run.outputs['healthy']).toMatch(/^(true|false)$/);
    expect(run.summary).toMatch(/verif/i);
    expect(shown(run.log)).not.toContain(key.passphrase);
  });

  it('a wrong or missing passphrase is refused before anything is sent, by every host action', { timeout: 120_000 }, async () => {
    for (const action of ['action-verify', 'action-rollback']) {
      const extra: Record<string, string> = action === 'action-rollback' ? { mode: 'halt', reason: 'passphrase check', 'nats-password': 'unused-password', 'hmac-secret': 'unused-secret' } : {};
      const wrong = await runActionBundle(action, { inputs: { ...connection(`${key.passphrase}x`), ...extra } });
      expect(wrong.status, wrong.log).toBe(1);
      expect(wrong.stdout, action).toMatch(/::error::.*The SSH private key for deploy@127\.0\.0\.1 cannot be used: .*(passphrase|decrypt)/i);
      expect(shown(wrong.log)).not.toContain(key.passphrase);
      const missing = await runActionBundle(action, { inputs: { ...connection(undefined), ...extra } });
      expect(missing.status, missing.log).toBe(1);
      expect(missing.stdout, action).toMatch(/::error::.*The SSH private key for deploy@127\.0\.0\.1 cannot be used: .*(encrypted|passphrase)/i);
    }
  });
});
