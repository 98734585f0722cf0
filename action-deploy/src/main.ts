import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { CancelledError, cancellationCause } from '@titan/phases/cancellation';
import { readLocalBundle, type LocalBundle } from '@titan/release/local-bundle';
import { deployRelease, type DeployOutcome } from '@titan/deploy/deploy';
import type { Logger } from '@titan/log/logger';
import { BundleVerificationError } from '@titan/release/bundle-verifier';
import { stackProfileOf } from '@titan/release/manifest';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { startGitHubDeployment } from './github-deployment.js';
import { runFleet } from './fleet-run.js';
import { runPlan } from './plan-run.js';
import { runSwarm } from './swarm-run.js';
import { deployRequestOf, readSettings } from './settings.js';
import { deploySummary } from './summary.js';

export async function run(logger: Logger = coreLogger, signal?: AbortSignal): Promise<void> {
  const settings = await readSettings();
  setOutputs({ releaseId: settings.releaseId, previous: undefined, result: 'failed' });

  const bundle = await logger.group('Read the bundle', async (): Promise<LocalBundle> => {
    try {
      const read = await readLocalBundle(settings.bundle, settings.publicKey === undefined ? [] : [settings.publicKey]);
      // A deploy needs the release's stack profile: a bundle signed before profiles is refused here.
      stackProfileOf(read.manifest);
      logger.info(
        `Release ${read.manifest.releaseId} (git ${read.manifest.git.sha.slice(0, 12)}, key ${read.manifest.keyId}): ${read.manifest.files.length} files, ` +
          `${Object.keys(read.manifest.images).length} images${read.verified ? '; signature and every file verified on the runner' : ''}.`,
      );
      return read;
    } catch (error: unknown) {
      if (error instanceof BundleVerificationError) {
        throw new Error(
          `The bundle ${settings.bundle} ${settings.publicKey === undefined ? 'cannot be read' : 'does not verify against public-key on the runner'}: ${error.message}. Nothing was sent to ${settings.host}.`,
          { cause: error },
        );
      }
      throw error;
    }
  });
  notCancelled(signal, `before connecting to ${settings.host}: nothing was sent`);
  if (settings.fleet !== undefined) {
    await runFleet(settings, settings.fleet, bundle, logger, signal);
    return;
  }
  if (settings.target === 'swarm') {
    await runSwarm(settings, bundle, logger, signal);
    return;
  }
  if (settings.plan) {
    await runPlan(settings, bundle, logger, signal);
    return;
  }

  const deployment =
    settings.githubToken === undefined
      ? undefined
      : await startGitHubDeployment(
          {
            token: settings.githubToken,
            environment: settings.environment,
            environmentUrl: settings.environmentUrl,
            runUrl: settings.runUrl,
            ref: bundle.manifest.git.sha,
            releaseId: bundle.manifest.releaseId,
            host: settings.host,
          },
          logger,
        );

  let outcome: DeployOutcome;
  let connection: SshConnection | undefined;
  try {
    connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    outcome = await deployRelease(connection, { ...deployRequestOf(settings), bundle, logger, ...(signal !== undefined ? { signal } : {}) });
  } catch (error: unknown) {
    await deployment?.finish('failure', error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    await connection?.close();
  }

  setOutputs({ releaseId: outcome.releaseId, previous: outcome.previousReleaseId, result: outcome.result });
  await deploySummary(outcome, { host: settings.host, appDir: settings.appDir, project: settings.project }).write();
  await deployment?.finish(outcome.result === 'deployed' ? 'success' : 'failure', `${outcome.result}: ${outcome.releaseId}`);

  if (outcome.result === 'deployed') {
    logger.info(`Release ${outcome.releaseId} is deployed, verified and confirmed on ${settings.host} (mode ${outcome.mode}).`);
    return;
  }
  const reason = outcome.error?.message ?? 'the deploy did not complete';
  if (outcome.result === 'rolled-back') {
    throw new Error(`Release ${outcome.releaseId} failed after the switch; ${settings.host} is back on release ${outcome.previousReleaseId ?? ''}, verified. ${reason}`, {
      cause: outcome.error,
    });
  }
  if (outcome.hostStatus !== undefined) {
    throw new Error(`${reason} The host ${settings.host}: ${outcome.hostStatus}.`, { cause: outcome.error });
  }
  throw outcome.error ?? new Error(reason);
}

function notCancelled(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted === true) throw new CancelledError(`The deploy was cancelled (${cancellationCause(signal)}) ${where}.`, undefined);
}

export function setOutputs(values: { releaseId: string; previous: string | undefined; result: DeployOutcome['result'] }): void {
  core.setOutput('release-id', values.releaseId);
  core.setOutput('previous-release-id', values.previous ?? '');
  core.setOutput('result', values.result);
  core.setOutput('rolled-back', values.result === 'rolled-back' ? 'true' : 'false');
}
