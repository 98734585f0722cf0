import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { JobSummary } from '@titan/action-kit/job-summary';
import type { Logger } from '@titan/log/logger';
import { rollbackStack, type RollbackOutcome } from '@titan/rollback/rollback';
import { runFleetRollback } from './fleet-rollback-run.js';
import { rollbackRequestOf } from './rollback-request.js';
import { describeTo } from '@titan/rollback/rollback-target';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { InputReader } from '@titan/action-kit/inputs';
import { readSettings } from './settings.js';
import { runSwarmRollback } from './swarm-rollback-run.js';
import { rollbackSummary } from './summary.js';

export async function run(logger: Logger = coreLogger, signal?: AbortSignal): Promise<void> {
  if (new InputReader().choice('target', ['compose', 'swarm'] as const, 'compose') === 'swarm') {
    await runSwarmRollback(logger, signal);
    return;
  }
  const settings = readSettings();
  if (settings.fleet !== undefined) {
    await runFleetRollback(settings, settings.fleet, logger, signal);
    return;
  }
  setOutputs({ result: 'failed', releaseId: '', haltAcknowledged: false });

  let outcome: RollbackOutcome;
  let connection: SshConnection | undefined;
  try {
    connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    outcome = await rollbackStack(connection, rollbackRequestOf(settings, { appDir: settings.appDir, project: settings.project }, logger, signal));
  } catch (error: unknown) {
    await new JobSummary()
      .heading(`❌ ${settings.mode} failed on ${settings.host}`)
      .text(`Nothing was sent: ${error instanceof Error ? error.message : String(error)}`)
      .write();
    throw error;
  } finally {
    await connection?.close();
  }

  setOutputs({ result: outcome.result, releaseId: outcome.releaseAfter ?? '', haltAcknowledged: outcome.halt.acknowledged });
  await rollbackSummary(outcome, {
    host: settings.host,
    appDir: settings.appDir,
    project: settings.project,
    reason: settings.reason,
    actor: settings.actor,
    to: describeTo(settings.to),
  }).write();

  if (outcome.result === 'failed' || outcome.result === 'cancelled') {
    const error = outcome.error ?? new Error(`The ${settings.mode} did not complete.`);
    if (outcome.hostStatus === undefined) throw error;
    throw new Error(`${error.message} The host ${settings.host}: ${outcome.hostStatus}.`, { cause: error });
  }
  const halt = outcome.halt.acknowledged ? 'HARD_HALT acknowledged' : `HARD_HALT NOT acknowledged (${outcome.halt.problem ?? 'no reason known'})`;
  logger.info(`${outcome.result}: ${halt}; ${outcome.releaseAfter === undefined ? 'no release is current' : `release ${outcome.releaseAfter} is current`} on ${settings.host}.`);
}

function setOutputs(values: { result: string; releaseId: string; haltAcknowledged: boolean }): void {
  core.setOutput('result', values.result);
  core.setOutput('release-id', values.releaseId);
  core.setOutput('halt-acknowledged', values.haltAcknowledged ? 'true' : 'false');
}
