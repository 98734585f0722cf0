/**
 * `target: swarm`: the swarm stack (named after `project`) returned to an earlier release with
 * @titan/swarm rollbackSwarm: mode `rollback` only (halt, stop and restart act on Compose
 * containers), `to` as for Compose, no HARD_HALT (the swarm stack publishes no NATS port), the
 * target's folder verified again on the host, stack deploy, convergence, then `current`.
 */
import * as core from '@actions/core';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { hostConnectOptions, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { JobSummary, formatSeconds } from '@titan/action-kit/job-summary';
import { runContext } from '@titan/action-kit/run-context';
import { HostLayout } from '@titan/host/host-layout';
import type { Logger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { rollbackSwarm, type SwarmRollbackOutcome } from '@titan/swarm/swarm-rollback';
import { DEFAULTS, readTo } from './settings.js';

export async function runSwarmRollback(logger: Logger, signal: AbortSignal | undefined, reader = new InputReader()): Promise<void> {
  const connection = readHostConnection(reader, { host: 'the swarm manager to act on', sshKey: 'the private key of the deploy user, e.g. secrets.TITAN_SSH_KEY' });
  const target = readHostTarget(reader);
  const mode = reader.optional('mode', DEFAULTS.mode);
  if (mode !== 'rollback') throw new ConfigurationError(`Input mode: ${mode} is not available with target: swarm; only mode: rollback (a return to an earlier release) is.`, { input: 'mode' });
  const reason = reader.required('reason', 'why: one line carried in the journal');
  const to = readTo(reader.optional('to', DEFAULTS.to));
  const settings = {
    lockTimeoutSeconds: reader.integer('lock-timeout', DEFAULTS.lockTimeout, { min: 0, max: 24 * 3600 }),
    heartbeatTimeoutSeconds: reader.integer('heartbeat-timeout', DEFAULTS.heartbeatTimeout, { min: 3, max: 3600 }),
    healthTimeoutSeconds: reader.integer('health-timeout', DEFAULTS.healthTimeout, { min: 5, max: 3600 }),
    ...runContext(process.env),
  };
  core.setOutput('result', 'failed');
  core.setOutput('release-id', '');
  core.setOutput('halt-acknowledged', 'false');
  let ssh: SshConnection | undefined;
  let outcome: SwarmRollbackOutcome;
  try {
    ssh = await logger.group(`Connect to ${connection.user}@${connection.host}`, () => connectSsh(hostConnectOptions(connection, logger)));
    outcome = await rollbackSwarm(ssh, {
      layout: new HostLayout(target.appDir),
      stack: target.project,
      to,
      reason,
      ...settings,
      logger,
      ...(signal !== undefined ? { signal } : {}),
    });
  } finally {
    await ssh?.close();
  }
  core.setOutput('result', outcome.result);
  core.setOutput('release-id', outcome.releaseAfter ?? '');
  const summary = new JobSummary();
  summary.heading(`${outcome.result === 'rolled-back' ? '↩️ Rolled back on the swarm' : '❌ Swarm rollback failed'}: stack ${outcome.stack} on ${connection.host}`, 2);
  summary.markdown(`Mode: **${outcome.mode}**`);
  summary.facts([
    ['result', outcome.result],
    ['target', 'swarm (no HARD_HALT published: the stack publishes no NATS port)'],
    ['release before', outcome.releaseBefore ?? '(none)'],
    ['release now', outcome.releaseAfter ?? '(none)'],
    ['reason', reason],
    ...(outcome.hostStatus !== undefined ? [['swarm now', outcome.hostStatus] as const] : []),
    ...outcome.refused.map((r) => ['skipped', `${r.release}: ${r.reason}`] as const),
    ['duration', formatSeconds(outcome.durationMs)],
  ]);
  if (outcome.error !== undefined) summary.heading('What went wrong', 3).text(outcome.error.message.split('\n')[0] ?? '');
  if (outcome.services.length > 0) {
    summary.table(['service', 'image', 'tasks running and healthy', 'state'], outcome.services.map((s) => [s.service, s.image, `${s.running}/${s.wanted}`, s.waiting ?? 'converged']));
  }
  summary.timeline(outcome.phases.map((p) => ({ name: p.name, startedAtMs: p.startedAtMs, durationMs: p.durationMs, outcome: p.outcome })));
  await summary.write();
  if (outcome.result !== 'rolled-back') throw new Error(`${outcome.error?.message ?? 'The rollback did not complete.'} ${outcome.hostStatus ?? ''}`.trim(), { cause: outcome.error });
  logger.info(`Stack ${outcome.stack} runs release ${outcome.releaseAfter ?? ''} again on ${connection.host} (${outcome.mode}).`);
}
