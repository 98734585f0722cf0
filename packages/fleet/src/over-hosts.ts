/**
 * overHosts: one piece of work (a verify, a rollback) on every host of a fleet, each over its own
 * connection with its own pinned keys, in the rolling order of rolling-batches (the first host
 * alone, then `batchSize` at a time in parallel), so the runner holds at most `batchSize`
 * connections whatever the fleet's size.
 *
 *  stopOnFailure  true: a batch with a failed host ends the run, the hosts after it are not started
 *                 (a rollback: the first host's failure stops the fleet before the others change);
 *                 false: every host is worked on and reported (a verify, which changes nothing).
 * A host that cannot be reached, or presents a key that is not pinned for it, is a failed row that
 * names it. Through a bastion (credentials.jump) the bastion is connected first and that one
 * connection is held for the whole run; a bastion that fails leaves every host not started. A cancelled run (signal) starts no further batch. The outcome has a row per host.
 */
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import type { JumpLease } from '@titan/ssh/jump-host';
import { describeError, HostKeyMismatchError } from '@titan/ssh/errors';
import type { FleetHost } from './fleet-hosts.js';
import { ConnectionCount, type HostCredentials, HostSteps } from './host-steps.js';
import { eachLimited, rollingBatches } from './rolling-batches.js';

export type OverHostsResult = 'done' | 'failed' | 'unreachable' | 'host-key-refused' | 'not-started' | 'cancelled';

export interface OverHostsRow<R> {
  readonly host: FleetHost;
  readonly batch: number;
  result: OverHostsResult;
  /** What the work returned (also when it judged the host failed). */
  value: R | undefined;
  message: string | undefined;
  durationMs: number;
}

export interface OverHostsRequest<R> {
  readonly hosts: readonly FleetHost[];
  readonly batchSize: number;
  readonly stopOnFailure: boolean;
  readonly credentials: HostCredentials;
  /** What is done on each host, e.g. "Verify"; names the batches in the log. */
  readonly what: string;
  readonly work: (host: FleetHost, connection: SshConnection, logger: Logger) => Promise<R>;
  /** Why the host's result is a failure (a sentence), or undefined when it succeeded. */
  readonly failure: (value: R) => string | undefined;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export interface OverHostsOutcome<R> {
  readonly rows: readonly OverHostsRow<R>[];
  readonly batches: number;
  readonly failed: readonly OverHostsRow<R>[];
  readonly cancelled: boolean;
  readonly peakConnections: number;
  readonly connectionsOpened: number;
  readonly durationMs: number;
}

export async function overHosts<R>(request: OverHostsRequest<R>): Promise<OverHostsOutcome<R>> {
  const jump = request.credentials.jump;
  if (jump === undefined) return eachHost(request);
  let lease: JumpLease;
  try {
    lease = await request.logger.group(`Connect to the bastion ${jump.username}@${jump.label} (jump-host), its key pinned`, () => jump.acquire());
  } catch (error: unknown) {
    const rows = rollingBatches(request.hosts, request.batchSize).flatMap((batch, index) =>
      batch.map((host) => ({ host, batch: index + 1, result: 'failed' as const, value: undefined, message: `not reached: the bastion failed: ${describeError(error)}`, durationMs: 0 })),
    );
    return { rows, batches: new Set(rows.map((r) => r.batch)).size, failed: rows, cancelled: false, peakConnections: 0, connectionsOpened: 0, durationMs: 0 };
  }
  try {
    return await eachHost(request);
  } finally {
    await lease.release();
  }
}

async function eachHost<R>(request: OverHostsRequest<R>): Promise<OverHostsOutcome<R>> {
  const { hosts, batchSize, logger, signal } = request;
  const started = performance.now();
  const count = new ConnectionCount();
  const steps = new HostSteps(request.credentials, count, logger);
  const batches = rollingBatches(hosts, batchSize);
  const rows: OverHostsRow<R>[] = batches.flatMap((batch, index) => batch.map((host) => ({ host, batch: index + 1, result: 'not-started' as const, value: undefined, message: undefined, durationMs: 0 })));
  let cancelled = false;
  for (const [index, batch] of batches.entries()) {
    if (signal?.aborted === true) {
      cancelled = true;
      for (const row of rows.filter((r) => r.batch > index)) row.result = 'cancelled';
      break;
    }
    const title = index === 0 ? `${request.what}, batch 1 of ${batches.length}: ${batch[0]?.name ?? ''} first` : `${request.what}, batch ${index + 1} of ${batches.length}: ${batch.map((h) => h.name).join(', ')}`;
    const batchRows = rows.filter((r) => r.batch === index + 1);
    await logger.group(title, () => eachLimited(batchRows, batchSize, (row) => workOn(steps, row, request)));
    if (request.stopOnFailure && batchRows.some((r) => r.result !== 'done')) break;
  }
  return {
    rows,
    batches: batches.length,
    failed: rows.filter((r) => r.result !== 'done' && r.result !== 'not-started' && r.result !== 'cancelled'),
    cancelled,
    peakConnections: count.peak,
    connectionsOpened: count.opened,
    durationMs: performance.now() - started,
  };
}

async function workOn<R>(steps: HostSteps, row: OverHostsRow<R>, request: OverHostsRequest<R>): Promise<void> {
  const started = performance.now();
  const { host } = row;
  const logger = steps.hostLogger(host);
  let connected = false;
  try {
    const value = await steps.withConnection(host, logger, (connection) => {
      connected = true;
      return request.work(host, connection, logger);
    });
    row.value = value;
    row.message = request.failure(value);
    row.result = row.message === undefined ? 'done' : 'failed';
  } catch (error: unknown) {
    const where = `${host.name} (${host.address} port ${host.port})`;
    if (connected) {
      row.result = 'failed';
      row.message = `${where}: ${describeError(error)}`;
    } else if (error instanceof HostKeyMismatchError) {
      row.result = 'host-key-refused';
      row.message = `${where} presented a host key that is not pinned for it: ${describeError(error)}`;
    } else {
      row.result = 'unreachable';
      row.message = `${where} cannot be reached: ${describeError(error)}`;
    }
  } finally {
    row.durationMs = performance.now() - started;
  }
  logger.info(row.result === 'done' ? `${request.what}: done in ${Math.round(row.durationMs / 1000)} s` : `${request.what}: ${row.result}: ${row.message ?? ''}`);
}
