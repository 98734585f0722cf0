/**
 * A rollback (or stop) with `hosts`: packages/rollback's rollbackStack on every host, each over its
 * own connection under its own lock, in the rolling order (the first host alone, then `batch-size`
 * at a time). A host that fails stops the hosts after its batch (they are not started, and said so):
 * an operator then looks at the failed host before the rest of the fleet changes. Outputs: `result`
 * (the mode's result when every host reached it, else failed or cancelled), `release-id` (the one
 * release every host is on, or empty), `halt-acknowledged` (on every host), `hosts` (a JSON row per
 * host). The job summary has a row per host.
 */
import * as core from '@actions/core';
import { jumpHostOf } from '@titan/action-kit/host-inputs';
import type { FleetInputs } from '@titan/action-kit/fleet-inputs';
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import { overHosts, type OverHostsResult } from '@titan/fleet/over-hosts';
import { CancelledError } from '@titan/phases/cancellation';
import type { Logger } from '@titan/log/logger';
import { rollbackStack, type RollbackOutcome } from '@titan/rollback/rollback';
import { describeTo } from '@titan/rollback/rollback-target';
import { rollbackRequestOf } from './rollback-request.js';
import type { RollbackSettings } from './settings.js';

const RESULT: Record<OverHostsResult, string> = {
  done: '✅',
  failed: '❌ failed',
  unreachable: '❌ unreachable',
  'host-key-refused': '⛔ host key refused',
  'not-started': '⏸️ not started',
  cancelled: '⏹️ cancelled',
};

export async function runFleetRollback(settings: RollbackSettings, fleet: FleetInputs, logger: Logger, signal: AbortSignal | undefined): Promise<void> {
  core.setOutput('result', 'failed');
  core.setOutput('release-id', '');
  core.setOutput('halt-acknowledged', 'false');
  const outcome = await overHosts<RollbackOutcome>({
    hosts: fleet.hosts,
    batchSize: fleet.batchSize,
    stopOnFailure: true,
    credentials: { privateKey: settings.sshKey, ...(settings.sshKeyPassphrase !== undefined ? { passphrase: settings.sshKeyPassphrase } : {}), jump: jumpHostOf(settings.jump, logger) },
    what: settings.mode === 'rollback' ? 'Roll back' : 'Stop',
    logger,
    ...(signal !== undefined ? { signal } : {}),
    work: (host, connection, hostLogger) =>
      rollbackStack(connection, rollbackRequestOf(settings, { appDir: host.appDir ?? settings.appDir, project: host.project ?? settings.project }, hostLogger, signal)),
    failure: (o) =>
      o.result === 'failed' || o.result === 'cancelled' ? `${o.error?.message.split('\n')[0] ?? `the ${settings.mode} did not complete`}${o.hostStatus !== undefined ? ` The host: ${o.hostStatus}.` : ''}` : undefined,
  });
  const done = outcome.rows.filter((r) => r.result === 'done');
  const everyHost = done.length === outcome.rows.length;
  const cancelled = outcome.cancelled || outcome.rows.some((r) => r.value?.result === 'cancelled');
  const results = new Set(done.map((r) => r.value?.result));
  const afters = new Set(outcome.rows.map((r) => r.value?.releaseAfter));
  const result = everyHost && results.size === 1 ? String([...results][0]) : cancelled ? 'cancelled' : 'failed';
  core.setOutput('result', result);
  core.setOutput('release-id', everyHost && afters.size === 1 ? ([...afters][0] ?? '') : '');
  core.setOutput('halt-acknowledged', outcome.rows.every((r) => r.value?.halt.acknowledged === true) ? 'true' : 'false');
  core.setOutput(
    'hosts',
    JSON.stringify(
      outcome.rows.map((r) => ({
        name: r.host.name,
        address: r.host.address,
        port: r.host.port,
        batch: r.batch,
        result: r.value?.result ?? r.result,
        releaseBefore: r.value?.releaseBefore ?? null,
        releaseAfter: r.value?.releaseAfter ?? null,
        haltAcknowledged: r.value?.halt.acknowledged ?? false,
        message: r.message ?? null,
        durationMs: Math.round(r.durationMs),
      })),
    ),
  );

  const summary = new JobSummary();
  summary.heading(`${everyHost ? '✅' : '❌'} ${settings.mode} on ${done.length} of ${outcome.rows.length} hosts`, 2);
  summary.facts([
    ['mode', settings.mode],
    ['to', describeTo(settings.to)],
    ['reason', settings.reason],
    ['actor', settings.actor],
    ['batches', `${outcome.batches} (the first host alone, then ${fleet.batchSize} at a time; a failed host stops the hosts after its batch)`],
    ['SSH connections', `at most ${outcome.peakConnections} at once, ${outcome.connectionsOpened} in all`],
    ['duration', formatSeconds(outcome.durationMs)],
  ]);
  summary.heading('Hosts', 3);
  summary.table(
    ['host', 'address', 'batch', 'release before', 'release after', 'HARD_HALT', 'result', 'duration', 'details'],
    outcome.rows.map((r) => [
      r.host.name,
      `${r.host.address}:${r.host.port}`,
      String(r.batch),
      r.value?.releaseBefore ?? '–',
      r.value?.releaseAfter ?? (r.value === undefined ? 'unchanged' : '–'),
      r.value === undefined ? '–' : r.value.halt.acknowledged ? 'acknowledged' : `NOT acknowledged (${r.value.halt.problem ?? 'no reason known'})`,
      r.result === 'done' ? `${RESULT.done} ${r.value?.result ?? ''}` : RESULT[r.result],
      formatSeconds(r.durationMs),
      r.message ?? '',
    ]),
  );
  await summary.write();
  if (everyHost) {
    logger.info(`${settings.mode}: done on all ${outcome.rows.length} hosts${afters.size === 1 ? `; release ${[...afters][0] ?? 'none'} is current on each` : ''}.`);
    return;
  }
  const failed = outcome.failed[0];
  const notStarted = outcome.rows.filter((r) => r.result === 'not-started' || r.result === 'cancelled').map((r) => r.host.name);
  const message =
    `${cancelled ? `The ${settings.mode} was cancelled` : `The ${settings.mode} failed on ${failed?.host.name ?? 'a host'} (batch ${failed?.batch ?? 0} of ${outcome.batches}): ${failed?.message ?? ''}`}` +
    `${done.length > 0 ? ` Done on: ${done.map((r) => r.host.name).join(', ')}.` : ''}${notStarted.length > 0 ? ` Not started: ${notStarted.join(', ')}.` : ''}`;
  if (cancelled) throw new CancelledError(message, undefined);
  throw new Error(message);
}
