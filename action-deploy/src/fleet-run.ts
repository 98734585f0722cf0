/**
 * A deploy with `hosts`: the rolling deploy of packages/fleet with this action's settings, its
 * outputs (release-id, result, rolled-back, hosts as JSON rows) and the per-host job summary.
 */
import * as core from '@actions/core';
import { jumpHostOf } from '@titan/action-kit/host-inputs';
import { CancelledError } from '@titan/phases/cancellation';
import { rollingDeploy } from '@titan/fleet/rolling-deploy';
import type { Logger } from '@titan/log/logger';
import type { LocalBundle } from '@titan/release/local-bundle';
import type { FleetSettings } from './fleet-settings.js';
import { fleetSummary } from './fleet-summary.js';
import { type DeploySettings, deployRequestOf } from './settings.js';

export async function runFleet(settings: DeploySettings, fleet: FleetSettings, bundle: LocalBundle, logger: Logger, signal: AbortSignal | undefined): Promise<void> {
  const outcome = await rollingDeploy({
    hosts: fleet.hosts,
    batchSize: fleet.batchSize,
    onFailure: fleet.onFailure,
    credentials: {
      privateKey: settings.sshKey,
      ...(settings.sshKeyPassphrase !== undefined ? { passphrase: settings.sshKeyPassphrase } : {}),
      jump: jumpHostOf(settings.jump, logger),
    },
    deploy: { ...deployRequestOf(settings), bundle },
    revert: { halt: fleet.halt, stopTimeoutSeconds: undefined },
    logger,
    ...(signal !== undefined ? { signal } : {}),
  });
  core.setOutput('release-id', outcome.releaseId);
  core.setOutput('previous-release-id', outcome.rows[0]?.releaseBefore ?? '');
  core.setOutput('result', outcome.result);
  core.setOutput('rolled-back', outcome.rows.some((r) => r.result === 'reverted' || r.result === 'rolled-back') ? 'true' : 'false');
  core.setOutput(
    'hosts',
    JSON.stringify(outcome.rows.map((r) => ({ name: r.host.name, address: r.host.address, port: r.host.port, batch: r.batch, result: r.result, releaseBefore: r.releaseBefore ?? null, releaseAfter: r.releaseAfter ?? null, durationMs: Math.round(r.durationMs) }))),
  );
  await fleetSummary(outcome, { appDir: settings.appDir, project: settings.project, batchSize: fleet.batchSize, onFailure: fleet.onFailure }).write();
  if (outcome.result === 'cancelled') throw new CancelledError(outcome.error?.message ?? 'The rolling deploy was cancelled.', undefined);
  if (outcome.error !== undefined) throw outcome.error;
}
