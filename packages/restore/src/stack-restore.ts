/**
 * A backup put back into the stack ITSELF (only when asked for explicitly): its database, Redis and
 * JetStream streams, under the deploy lock, with the trading stopped first and the stack started
 * again DISARMED. In order:
 *
 *   1. the deploy lock (a deploy or rollback in flight is waited for, then excluded);
 *   2. while the stack still runs, everything that can be made ready is: the dump restored and
 *      checked into a new database `<db>_incoming_<stamp>`, the RDB staged beside Redis's data, the
 *      stream snapshots read back; all sha256-checked; a failure here has changed nothing the stack
 *      uses (the new database is dropped, the staged RDB removed);
 *   3. the Titan services stopped in order (strategies, execution, brain, operator surface);
 *   4. the database swapped by renaming, in one transaction: the live one becomes
 *      `<db>_pre_restore_<stamp>` (kept), the restored one takes its name; Redis stopped, its data
 *      moved aside (kept) and the staged RDB put in; every chosen stream kept (its snapshot written
 *      on the host, state/pre-restore-<stamp>/jetstream/), deleted and restored from the backup's
 *      (checked before the server builds it; the kept one put back when that fails);
 *   5. state/mode DISARMED and the stack started DISARMED (under an operator's halt mark the trading
 *      services stay stopped);
 *   6. a journal line.
 * Never throws for an operational failure: the outcome says what was done and what went wrong; the
 * stack is started again (DISARMED) whenever it was stopped.
 */
import type { BackupManifest, ManifestObject } from '@titan/backup/backup-manifest';
import { findServiceContainer } from '@titan/backup/stack-container';
import { PhaseClock, type PhaseRecord } from '@titan/phases/phase-clock';
import { stackProfileOf } from '@titan/release/manifest';
import { type StackProfile, tradingServices } from '@titan/release/stack-profile';
import { currentTarget, type ComposeTarget } from '@titan/host/compose-command';
import { acquireDeployLock, type HeldDeployLock } from '@titan/host/deploy-lock';
import { databaseTarget } from '@titan/host/migrations';
import type { HostLayout } from '@titan/host/host-layout';
import { appendJournal } from '@titan/host/journal';
import { readInstalledRelease } from '@titan/host/release-files';
import { stopServices } from '@titan/host/stack-control';
import { readCurrent } from '@titan/host/switch-current';
import type { Logger } from '@titan/log/logger';
import { shutdownGroups } from '@titan/rollback/orderly-stop';
import type { ObjectStore } from '@titan/spaces/object-store';
import type { SshConnection } from '@titan/ssh/connection';
import { restoreStreamsIntoStack, type StackNats, type StreamRestoreResult } from './stack-streams.js';
import { verifyObject } from './backup-object.js';
import { dropRestoredCopy, swapDatabases } from './database-swap.js';
import { keptDataInTheWay } from './kept-data.js';
import { restorePostgresOnHost } from './postgres-restore.js';
import { stageRedis, swapRedis } from './redis-restore.js';
import { bringRestoredSchemaToRelease } from './restored-migrations.js';
import { restartStackDisarmed } from './stack-restart.js';

export type StackPart = 'postgres' | 'redis' | 'jetstream';

export interface StackRestoreRequest {
  readonly store: ObjectStore;
  readonly manifest: BackupManifest;
  readonly identity: string | undefined;
  readonly layout: HostLayout;
  readonly project: string;
  readonly parts: ReadonlySet<StackPart>;
  readonly postgres: { readonly service: string; readonly database: string; readonly adminUser: string; readonly owner: string };
  readonly redis: { readonly service: string; readonly dataDir: string };
  readonly nats: StackNats | undefined;
  readonly lockTimeoutSeconds: number;
  readonly timeoutMs: number;
  readonly actor: string;
  readonly runUrl: string;
  readonly logger: Logger;
}

export interface StackRestoreOutcome {
  readonly ok: boolean;
  readonly error: Error | undefined;
  /** What the restore kept of the data it replaced (database, Redis files). */
  readonly kept: readonly string[];
  readonly streams: readonly StreamRestoreResult[];
  /** Migrations of the running release the backup predates, applied to the restored database before the swap. */
  readonly migrationsApplied: readonly string[];
  readonly started: 'all' | 'all but the trading services (halted)' | 'not stopped' | 'failed';
  readonly phases: readonly PhaseRecord[];
}

const stampOf = (id: string): string => `${id.slice(0, 8)}_${id.slice(9, 15)}`;

export async function restoreIntoStack(connection: SshConnection, request: StackRestoreRequest): Promise<StackRestoreOutcome> {
  const { logger, manifest, layout, parts } = request;
  const clock = new PhaseClock(logger);
  const kept: string[] = [];
  let streams: StreamRestoreResult[] = [];
  let started: StackRestoreOutcome['started'] = 'not stopped';
  let failure: Error | undefined;
  let lock: HeldDeployLock | undefined;
  let target: ComposeTarget | undefined;
  let profile: StackProfile | undefined;
  let stopped = false;
  let incomingMade = false;
  let swapped = false;
  let redisStaged: { containerId: string; name: string } | undefined;
  let redisSwapped = false;
  let migrationsApplied: string[] = [];
  const object = (part: ManifestObject['part']): ManifestObject => {
    const found = manifest.objects.find((o) => o.part === part);
    if (found === undefined) throw new Error(`Backup ${manifest.backupId} holds no ${part} part.`);
    return found;
  };
  const stamp = stampOf(manifest.backupId);
  const incoming = `${request.postgres.database}_incoming_${stamp}`;
  const streamsDir = `${layout.stateDir}/pre-restore-${stamp}/jetstream`;
  try {
    lock = await clock.run('lock', () =>
      acquireDeployLock(connection, { layout, holder: { runUrl: request.runUrl, release: `restore of backup ${manifest.backupId}`, actor: request.actor }, timeoutSeconds: request.lockTimeoutSeconds, logger }),
    );
    const current = await readCurrent(connection, layout);
    const releaseId = current?.startsWith('releases/') === true ? current.slice('releases/'.length) : undefined;
    if (releaseId === undefined) throw new Error(`${layout.current} points at no release: there is no stack to restore into.`);
    const { manifest: release } = await readInstalledRelease(connection, layout, releaseId);
    // Its stack profile says how the stack stops and which services trade (refused without one, before anything stops).
    profile = stackProfileOf(release);
    target = currentTarget(layout, request.project, release.compose, 'DISARMED');

    // 2. Ready everything while the stack runs.
    const pgContainer = parts.has('postgres') ? await findServiceContainer(connection, request.project, request.postgres.service) : undefined;
    const redisContainer = parts.has('redis') ? await findServiceContainer(connection, request.project, request.redis.service) : undefined;
    const inTheWay = await keptDataInTheWay(connection, {
      postgres: pgContainer === undefined ? undefined : { container: pgContainer, adminUser: request.postgres.adminUser, database: `${request.postgres.database}_pre_restore_${stamp}` },
      redis: redisContainer === undefined ? undefined : { container: redisContainer, dataDir: request.redis.dataDir, suffix: `pre-restore-${manifest.backupId}` },
      streamsDir: parts.has('jetstream') ? streamsDir : undefined,
    });
    if (inTheWay.length > 0) {
      throw new Error(
        `Backup ${manifest.backupId} was restored into this stack before, and what that restore kept of the data it replaced is still there: ${inTheWay.join('; ')}. ` +
          'A restore never overwrites kept data: move or drop it (once it is no longer needed), then run the restore again.',
      );
    }
    if (pgContainer !== undefined) {
      await clock.run(`Postgres: restore into ${incoming} while the stack runs`, async () => {
        // A restore of the same backup that was cut off may have left it: it is this code's, never the stack's.
        await dropRestoredCopy(connection, pgContainer.id, request.postgres.adminUser, incoming);
        await restorePostgresOnHost(connection, {
          store: request.store, manifest, object: object('postgres'), identity: request.identity, container: pgContainer,
          adminUser: request.postgres.adminUser, owner: request.postgres.owner, database: incoming, timeoutMs: request.timeoutMs, logger,
        });
        incomingMade = true;
      });
      const schema = { target, layout, project: request.project, release, releaseId, backup: manifest, lockToken: lock.token, logger };
      const database = { ...databaseTarget(profile), database: incoming };
      migrationsApplied = await clock.run(`Postgres: ${incoming}'s migration history against release ${releaseId}`, () => bringRestoredSchemaToRelease(connection, { ...schema, database }));
    }
    if (redisContainer !== undefined) {
      const container = redisContainer;
      await clock.run('Redis: stage the RDB beside the live data', async () => {
        const name = await stageRedis(connection, { store: request.store, manifest, object: object('redis'), identity: request.identity, container, dataDir: request.redis.dataDir, timeoutMs: request.timeoutMs, logger });
        redisStaged = { containerId: container.id, name };
      });
    }

    if (parts.has('jetstream')) {
      const snapshots = manifest.objects.filter((o) => o.part === 'jetstream');
      await clock.run(`JetStream: the ${snapshots.length} stream snapshot(s) read back and checked`, async () => {
        for (const snapshot of snapshots) await verifyObject(request.store, snapshot, manifest.encryption, request.identity);
      });
    }

    // 3. Trading stops.
    lock.assertHeld();
    const heldTarget = target;
    const groups = shutdownGroups(profile, 'all');
    await clock.run('Stop the Titan services in order', async () => {
      stopped = true;
      await stopServices(connection, heldTarget, groups, logger);
    });

    // 4. The swap.
    if (pgContainer !== undefined) {
      const live = request.postgres.database;
      const old = `${live}_pre_restore_${stamp}`;
      await clock.run(`Postgres: ${incoming} becomes ${live}; ${live} is kept as ${old}`, async () => {
        await swapDatabases(connection, { containerId: pgContainer.id, adminUser: request.postgres.adminUser, live, old, incoming });
        swapped = true;
        kept.push(`database ${old}`);
      });
    }
    if (parts.has('redis')) {
      await clock.run('Redis: stop, put the backup in, keep the data it replaces', async () => {
        await stopServices(connection, heldTarget, [[request.redis.service]], logger);
        const suffix = await swapRedis(connection, heldTarget, request.redis.service, request.redis.dataDir, manifest.backupId, logger);
        redisSwapped = true;
        kept.push(`redis ${request.redis.dataDir}/*.${suffix}`);
      });
    }
    if (parts.has('jetstream')) {
      const nats = request.nats;
      if (nats === undefined) throw new Error('Restoring the JetStream streams needs a NATS user allowed to snapshot, delete and restore streams (nats-user, nats-password).');
      streams = await clock.run('JetStream: every stream of the backup restored', () =>
        restoreStreamsIntoStack(connection, nats, request.store, manifest, manifest.objects.filter((o) => o.part === 'jetstream'), request.identity, streamsDir, logger),
      );
      for (const stream of streams) if (stream.kept !== undefined) kept.push(`stream ${stream.name} ${stream.kept}`);
    }
  } catch (error: unknown) {
    failure = error instanceof Error ? error : new Error(String(error));
    logger.error(`The restore into the stack failed: ${failure.message}`);
  }

  if (incomingMade && !swapped) {
    const pg = await findServiceContainer(connection, request.project, request.postgres.service).catch(() => undefined);
    if (pg !== undefined) {
      await dropRestoredCopy(connection, pg.id, request.postgres.adminUser, incoming).catch(() => undefined);
      logger.info(`Dropped ${incoming} again: the stack's database was not replaced.`);
    }
  }

  if (redisStaged !== undefined && !redisSwapped) {
    const { containerId, name } = redisStaged;
    const removed = await connection.run(['docker', 'exec', containerId, 'rm', '-f', `${request.redis.dataDir}/${name}`], { timeoutMs: 60_000 }).then(() => true, () => false);
    if (removed) logger.info(`Removed the staged RDB again: Redis's data was not replaced.`);
  }

  // 5. Started again, DISARMED, whenever it was stopped.
  if (stopped && target !== undefined && profile !== undefined) {
    const startTarget = target;
    const trading = tradingServices(profile);
    try {
      await clock.run('Start the stack DISARMED', async () => {
        started = await restartStackDisarmed(connection, layout, startTarget, trading, logger);
      });
    } catch (error: unknown) {
      started = 'failed';
      failure ??= error instanceof Error ? error : new Error(String(error));
    }
  }
  // The journal is written under the lock: a run that never held it changed nothing and writes nothing.
  if (lock !== undefined) await appendJournal(connection, layout, {
    time: new Date().toISOString(),
    action: 'restore',
    result: failure === undefined ? 'restored' : 'failed',
    backup: manifest.backupId,
    parts: [...parts],
    mode: stopped ? 'DISARMED' : null,
    kept,
    migrationsApplied,
    actor: request.actor,
    runUrl: request.runUrl,
    phases: clock.durations(),
    ...(failure !== undefined ? { error: failure.message.split('\n')[0] ?? '' } : {}),
  }).catch((error: unknown) => logger.warning(`The journal line could not be written: ${error instanceof Error ? error.message : String(error)}`));
  await lock?.release();
  return { ok: failure === undefined, error: failure, kept, streams, migrationsApplied, started, phases: clock.records };
}
