import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import type { Logger } from '@titan/log/logger';
import { readDigests } from '@titan/release/image-digests';
import { publicKeyToBase64 } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { asCallerError } from './caller-errors.js';
import { releaseSummary } from './release-summary.js';
import { readSettings } from './settings.js';

export async function run(logger: Logger = coreLogger): Promise<void> {
  const settings = readSettings();
  let release;
  try {
    const digests = await readDigests(settings.digests);
    release = await signRelease(
      {
        source: settings.source,
        selection: { digests, reused: settings.reused, services: settings.services, registry: settings.registry },
        signingKey: settings.signingKey,
        keyId: settings.keyId,
        git: settings.git,
        runUrl: settings.runUrl,
        output: settings.output,
      },
      logger,
    );
  } catch (error: unknown) {
    throw asCallerError(error, settings.source);
  }
  core.setOutput('bundle', release.dir);
  core.setOutput('release-id', release.manifest.releaseId);
  core.setOutput('manifest-sha256', release.manifestSha256);
  core.setOutput('public-key', publicKeyToBase64(settings.signingKey.publicKey));
  logger.info(`Release ${release.manifest.releaseId} signed by ${release.manifest.keyId}: ${release.dir}`);
  await releaseSummary(release, settings.signingKey.publicKey).write();
}
