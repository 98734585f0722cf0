/**
 * checkRelease, the check a rollback makes of the release it returns to before it stops anything,
 * against the real test host: a release installed (verified) on the host whose secret files are
 * kept as they must be passes; one whose secret file is looser than 0600 or missing is refused at
 * the `secrets` stage, naming the file, never its content. No stack runs: the check needs none.
 */
import { chmodSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostLayout } from '@titan/host/host-layout';
import { installRelease } from '@titan/host/release-install';
import { silentLogger } from '@titan/log/logger';
import { checkRelease, ReleaseRefusedError } from '@titan/rollback/release-check';
import type { SshConnection } from '@titan/ssh/connection';
import { connectToHost, prepareAppDir } from '../../deploy/test/support/host-fixture.js';
import { signTestRelease } from '../../deploy/test/support/test-releases.js';

const appDir = prepareAppDir('rollback-release-check');
const layout = new HostLayout(appDir);
const secrets = join(appDir, 'shared', 'secrets');
let connection: SshConnection;
let releaseId: string;

describe('checkRelease of a rollback target on the test host', () => {
  beforeAll(async () => {
    ({ connection } = await connectToHost());
    const release = await signTestRelease();
    releaseId = release.manifest.releaseId;
    await installRelease(connection, { layout, bundleDir: release.dir, releaseId, exists: false, logger: silentLogger });
  });

  afterAll(async () => {
    await connection?.close();
  });

  it('passes a release whose secret files are kept as they must be, and refuses it, at the secrets stage, when one is 0644 or missing', async () => {
    expect((await checkRelease(connection, layout, releaseId, silentLogger)).releaseId).toBe(releaseId);

    chmodSync(join(secrets, 'binance_api_key'), 0o644);
    renameSync(join(secrets, 'bybit_api_secret'), join(secrets, 'bybit_api_secret.away'));
    try {
      const refused = await checkRelease(connection, layout, releaseId, silentLogger).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ReleaseRefusedError);
      const error = refused as ReleaseRefusedError;
      expect(error.stage).toBe('secrets');
      expect(error.reason).toBe(
        'the secret files it mounts are not kept as they must be (shared/secrets/binance_api_key has mode 0644 (it must be 0600 or 0400: readable by the deploy user only); shared/secrets/bybit_api_secret is missing)',
      );
      expect(error.message).toContain('Nothing was stopped or switched.');
      expect(error.message).not.toContain(readFileSync(join(secrets, 'binance_api_key'), 'utf8'));
    } finally {
      chmodSync(join(secrets, 'binance_api_key'), 0o600);
      renameSync(join(secrets, 'bybit_api_secret.away'), join(secrets, 'bybit_api_secret'));
    }
  });
});
