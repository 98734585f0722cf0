/**
 * `target: swarm`: the bundle deployed as a Docker Swarm stack through the host (a manager) with
 * @titan/swarm's deploySwarm, its outcome as the action's outputs, job summary and exit status.
 */
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import type { Logger } from '@titan/log/logger';
import type { LocalBundle } from '@titan/release/local-bundle';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { deploySwarm, type SwarmDeployOutcome } from '@titan/swarm/swarm-deploy';
import { swarmDeploySummary } from './swarm-summary.js';
import { setOutputs } from './main.js';
import { deployRequestOf, type DeploySettings } from './settings.js';

export async function runSwarm(settings: DeploySettings, bundle: LocalBundle, logger: Logger, signal: AbortSignal | undefined): Promise<void> {
  if (settings.plan) throw new ConfigurationError('Input plan: true is not available with target: swarm (the swarm plans its own updates); deploy without plan.', { input: 'plan' });
  if (settings.liftHalt) throw new ConfigurationError('Input lift-halt: true is not available with target: swarm; lift the halt with action-rollback first.', { input: 'lift-halt' });
  const request = deployRequestOf(settings);
  let outcome: SwarmDeployOutcome;
  let connection: SshConnection | undefined;
  try {
    connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    outcome = await deploySwarm(connection, {
      bundle,
      layout: request.layout,
      stack: settings.project,
      mode: settings.mode,
      healthTimeoutSeconds: settings.healthTimeoutSeconds,
      lockTimeoutSeconds: settings.lockTimeoutSeconds,
      heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds,
      allowDowngrade: settings.allowDowngrade,
      actor: settings.actor,
      runUrl: settings.runUrl,
      logger,
      ...(signal !== undefined ? { signal } : {}),
    });
  } finally {
    await connection?.close();
  }
  setOutputs({ releaseId: outcome.releaseId, previous: outcome.previousReleaseId, result: outcome.result });
  await swarmDeploySummary(outcome, { host: settings.host, appDir: settings.appDir }).write();
  if (outcome.result === 'deployed') {
    logger.info(`Release ${outcome.releaseId} runs on the swarm as stack ${outcome.stack}, converged and healthy (mode ${outcome.mode}).`);
    return;
  }
  const reason = outcome.error?.message ?? 'the deploy did not complete';
  throw new Error(`${reason} ${outcome.hostStatus ?? ''}`.trim(), { cause: outcome.error });
}
