/**
 * rollingDeploy: one signed release onto a fleet of hosts, in rolling batches, fail closed.
 *
 *  reach     every host, `batchSize` at a time, with its own pinned keys: one unreachable host or
 *            one whose key changed stops the fleet here, before any host changes (named in the error).
 *  batch 1   the first host alone: it deploys AND verifies (deployRelease's own verify and confirm)
 *            before any other host starts (the barrier).
 *  batch 2.. `batchSize` hosts in parallel, each over its own connection under its own deploy lock.
 *            A batch with a host that did not deploy ends the run: the hosts after it are not started
 *            (the batch's other hosts finish their own deploy, each fails closed on its own).
 *  on failure  `rollback`: every host this run switched to the new release goes back to the release
 *            it ran before (packages/rollback, mode rollback, to that release), `batchSize` at a time;
 *            `leave`: they stay on the new release, said so per host.
 * Through a bastion (credentials.jump): the bastion is connected first, its key pinned (a bastion
 * that cannot be reached or presents another key stops the fleet here, naming it, before any host
 * is reached), and that ONE connection is held for the whole run: every host's reach, deploy and
 * revert runs over a channel of it; it closes at the end.
 * A cancelled run (signal) stops after the batch in flight (each host stops at its own safe point);
 * the policy does not run on a cancel. The outcome has a row per host.
 */
import type { DeployOutcome } from '@titan/deploy/deploy';
import type { Logger } from '@titan/log/logger';
import type { RollbackOutcome } from '@titan/rollback/rollback';
import { describeError } from '@titan/ssh/errors';
import type { JumpHost, JumpLease } from '@titan/ssh/jump-host';
import type { FleetHost } from './fleet-hosts.js';
import { ConnectionCount, type DeploySettingsForHost, type HostCredentials, HostSteps, type RevertSettings } from './host-steps.js';
import { eachLimited, rollingBatches } from './rolling-batches.js';

export type OnFailure = 'rollback' | 'leave';
export const ON_FAILURE: readonly OnFailure[] = ['rollback', 'leave'];

export type FleetHostResult = 'deployed' | 'rolled-back' | 'failed' | 'cancelled' | 'reverted' | 'revert-failed' | 'left' | 'not-started' | 'unreachable' | 'host-key-refused';

export interface FleetHostRow {
  readonly host: FleetHost;
  /** 1 is the first host's batch (the barrier). */
  readonly batch: number;
  result: FleetHostResult;
  releaseBefore: string | undefined;
  releaseAfter: string | undefined;
  durationMs: number;
  message: string | undefined;
  deploy?: DeployOutcome;
  revert?: RollbackOutcome;
}

export interface FleetRequest {
  readonly hosts: readonly FleetHost[];
  readonly batchSize: number;
  readonly onFailure: OnFailure;
  readonly credentials: HostCredentials;
  readonly deploy: DeploySettingsForHost;
  readonly revert: RevertSettings;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export interface FleetOutcome {
  readonly result: 'deployed' | 'failed' | 'cancelled';
  readonly releaseId: string;
  readonly rows: readonly FleetHostRow[];
  readonly batches: number;
  /** The most SSH connections open at once, and all opened (reach, deploy and revert), to the hosts. */
  readonly peakConnections: number;
  readonly connectionsOpened: number;
  /** Connections opened to the bastion (1 for a run through one; undefined without a bastion). */
  readonly bastionConnections: number | undefined;
  readonly error: Error | undefined;
  readonly durationMs: number;
}

export async function rollingDeploy(request: FleetRequest): Promise<FleetOutcome> {
  const jump = request.credentials.jump;
  if (jump === undefined) return rollOut(request, undefined);
  const started = performance.now();
  const releaseId = request.deploy.bundle.manifest.releaseId;
  let lease: JumpLease;
  try {
    lease = await request.logger.group(`Connect to the bastion ${jump.username}@${jump.label} (jump-host), its key pinned`, () => jump.acquire());
  } catch (error: unknown) {
    const rows: FleetHostRow[] = rollingBatches(request.hosts, request.batchSize).flatMap((batch, index) =>
      batch.map((host) => ({ host, batch: index + 1, result: 'not-started', releaseBefore: undefined, releaseAfter: undefined, durationMs: 0, message: 'not reached: the bastion failed' })),
    );
    return {
      result: 'failed',
      releaseId,
      rows,
      batches: new Set(rows.map((r) => r.batch)).size,
      peakConnections: 0,
      connectionsOpened: 0,
      bastionConnections: jump.connectionsOpened,
      error: new Error(`Release ${releaseId} was deployed to no host: no host was reached. ${describeError(error)}`, { cause: error }),
      durationMs: performance.now() - started,
    };
  }
  try {
    return await rollOut(request, jump);
  } finally {
    await lease.release();
  }
}

async function rollOut(request: FleetRequest, jump: JumpHost | undefined): Promise<FleetOutcome> {
  const { hosts, batchSize, logger, signal } = request;
  const started = performance.now();
  const releaseId = request.deploy.bundle.manifest.releaseId;
  const count = new ConnectionCount();
  const steps = new HostSteps(request.credentials, count, logger);
  const batches = rollingBatches(hosts, batchSize);
  const rows: FleetHostRow[] = batches.flatMap((batch, index) =>
    batch.map((host) => ({ host, batch: index + 1, result: 'not-started', releaseBefore: undefined, releaseAfter: undefined, durationMs: 0, message: undefined })),
  );
  const rowOf = (host: FleetHost): FleetHostRow => {
    const row = rows.find((r) => r.host === host);
    if (row === undefined) throw new Error(`no row for ${host.name}`);
    return row;
  };
  const finish = (result: FleetOutcome['result'], error: Error | undefined): FleetOutcome => ({
    result,
    releaseId,
    rows,
    batches: batches.length,
    peakConnections: count.peak,
    connectionsOpened: count.opened,
    bastionConnections: jump?.connectionsOpened,
    error,
    durationMs: performance.now() - started,
  });

  const unreachable = await logger.group(`Reach ${hosts.length} hosts (${Math.min(batchSize, hosts.length)} at a time), each with its pinned keys`, async () => {
    const found = await eachLimited(hosts, batchSize, async (host) => ({ host, problem: await steps.reach(host) }));
    return found.filter((f) => f.problem !== undefined);
  });
  if (unreachable.length > 0) {
    for (const { host, problem } of unreachable) Object.assign(rowOf(host), { result: problem?.result, message: problem?.message });
    const names = unreachable.map((u) => u.host.name).join(', ');
    return finish('failed', new Error(`Release ${releaseId} was deployed to no host: ${names} ${unreachable.length === 1 ? 'fails' : 'fail'} before anything changed. ${unreachable.map((u) => u.problem?.message).join(' ')}`));
  }

  let failed: FleetHostRow | undefined;
  let cancelled = false;
  for (const [index, batch] of batches.entries()) {
    if (signal?.aborted === true) {
      cancelled = true;
      break;
    }
    const title = index === 0 ? `Batch 1 of ${batches.length}: ${batch[0]?.name ?? ''} first (deploys and verifies before any other host starts)` : `Batch ${index + 1} of ${batches.length}: ${batch.map((h) => h.name).join(', ')}`;
    await logger.group(title, () => Promise.all(batch.map((host) => deployOne(steps, rowOf(host), request))));
    const bad = batch.map(rowOf).filter((r) => r.result !== 'deployed');
    if (bad.some((r) => r.result === 'cancelled')) cancelled = true;
    if (bad.length > 0) {
      failed = bad[0];
      break;
    }
  }
  if (failed === undefined && !cancelled) {
    logger.info(`Release ${releaseId} is deployed and verified on all ${hosts.length} hosts.`);
    return finish('deployed', undefined);
  }

  const notStarted = rows.filter((r) => r.result === 'not-started').map((r) => r.host.name);
  const switched = rows.filter((r) => r.result === 'deployed' && r.releaseBefore !== releaseId);
  let after: string;
  if (cancelled) {
    after = switched.length > 0 ? ` Left on ${releaseId} (cancelled: no return was started): ${switched.map((r) => r.host.name).join(', ')}.` : '';
  } else if (request.onFailure === 'leave') {
    for (const r of switched) Object.assign(r, { result: 'left', message: `left on ${releaseId} (on-failure: leave)` });
    after = switched.length > 0 ? ` Left on ${releaseId} (on-failure: leave): ${switched.map((r) => r.host.name).join(', ')}.` : '';
  } else {
    after = await revertSwitched(steps, switched, request, failed);
  }
  const what = cancelled ? 'The rolling deploy was cancelled' : `Release ${releaseId} failed on ${failed?.host.name ?? ''} (batch ${failed?.batch ?? 0} of ${batches.length}): ${failed?.message ?? ''}`;
  const error = new Error(`${what}${notStarted.length > 0 ? ` Not started: ${notStarted.join(', ')}.` : ''}${after}`);
  return finish(cancelled ? 'cancelled' : 'failed', error);
}

async function deployOne(steps: HostSteps, row: FleetHostRow, request: FleetRequest): Promise<void> {
  const started = performance.now();
  try {
    const outcome = await steps.deploy(row.host, request.deploy, request.signal);
    row.deploy = outcome;
    row.result = outcome.result;
    row.releaseBefore = outcome.previousReleaseId;
    row.releaseAfter = outcome.result === 'deployed' ? outcome.releaseId : outcome.hostChanged && outcome.result !== 'rolled-back' ? undefined : outcome.previousReleaseId;
    if (outcome.result !== 'deployed') {
      row.message = `${outcome.error?.message.split('\n')[0] ?? 'the deploy did not complete'}${outcome.hostStatus !== undefined ? ` The host: ${outcome.hostStatus}.` : ''}`;
    }
  } catch (error: unknown) {
    row.result = 'unreachable';
    row.message = `${row.host.name} (${row.host.address} port ${row.host.port}): ${describeError(error)}`;
  } finally {
    row.durationMs = performance.now() - started;
  }
}

async function revertSwitched(steps: HostSteps, switched: FleetHostRow[], request: FleetRequest, failed: FleetHostRow | undefined): Promise<string> {
  const { logger, batchSize, deploy } = request;
  const releaseId = deploy.bundle.manifest.releaseId;
  const firsts = switched.filter((r) => r.releaseBefore === undefined);
  for (const r of firsts) Object.assign(r, { result: 'left', message: `first release on this host: no earlier release to return to; left on ${releaseId}` });
  const returning = switched.filter((r) => r.releaseBefore !== undefined);
  if (returning.length === 0) return firsts.length > 0 ? ` Left (no earlier release): ${firsts.map((r) => r.host.name).join(', ')}.` : '';
  const reason = `rolling deploy of ${releaseId} failed on ${failed?.host.name ?? 'another host'}`;
  await logger.group(`Return ${returning.length} host(s) to their previous release (on-failure: rollback, ${Math.min(batchSize, returning.length)} at a time)`, () =>
    eachLimited(returning, batchSize, async (row) => {
      const started = performance.now();
      try {
        const outcome = await steps.revert(row.host, row.releaseBefore as string, deploy, request.revert, reason);
        row.revert = outcome;
        row.releaseAfter = outcome.releaseAfter;
        row.result = outcome.result === 'rolled-back' ? 'reverted' : 'revert-failed';
        row.message = outcome.result === 'rolled-back' ? `returned to ${outcome.releaseAfter ?? ''} (verified)` : `the return failed: ${outcome.error?.message.split('\n')[0] ?? outcome.result}${outcome.hostStatus !== undefined ? ` The host: ${outcome.hostStatus}.` : ''}`;
      } catch (error: unknown) {
        row.result = 'revert-failed';
        row.message = `the return failed: ${describeError(error)}`;
      } finally {
        row.durationMs += performance.now() - started;
      }
    }),
  );
  const back = returning.filter((r) => r.result === 'reverted').map((r) => r.host.name);
  const stuck = returning.filter((r) => r.result !== 'reverted').map((r) => r.host.name);
  return `${back.length > 0 ? ` Returned to their previous release: ${back.join(', ')}.` : ''}${stuck.length > 0 ? ` The return FAILED on: ${stuck.join(', ')} (see their rows).` : ''}${firsts.length > 0 ? ` Left (no earlier release): ${firsts.map((r) => r.host.name).join(', ')}.` : ''}`;
}
