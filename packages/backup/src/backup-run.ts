/**
 * One backup of a stack, over one SSH connection, into one folder of the bucket:
 *
 *   bucket check → release running → Postgres dump → Redis snapshot → JetStream streams →
 *   volume snapshot → manifest (LAST)
 *
 * Each part streams from the host to Spaces encrypted (object-upload.ts). The manifest is written
 * only when every part succeeded: until then the backup is incomplete and counts for nothing. On a
 * failure, the objects this run stored are deleted again (they are inside its own folder, never
 * anywhere else), and the outcome carries the error; nothing on the host is changed by a backup.
 * Never throws for an operational failure: `error` is set instead.
 */
import { PhaseClock, type PhaseRecord } from '@titan/phases/phase-clock';
import type { HostLayout } from '@titan/host/host-layout';
import { readInstalledRelease } from '@titan/host/release-files';
import { readCurrent } from '@titan/host/switch-current';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import type { SshConnection } from '@titan/ssh/connection';
import type { Writable } from 'node:stream';
import { type BackupLayout, newBackupId } from './backup-layout.js';
import { type BackupManifest, type JetStreamFacts, type ManifestObject, type PostgresFacts, type RedisFacts, serializeBackupManifest, type StoredObject, type VolumeSnapshotFacts } from './backup-manifest.js';
import type { Encryption } from './encryption.js';
import { backupJetStream, type JetStreamSource } from './jetstream-backup.js';
import { uploadObject } from './object-upload.js';
import { dumpPostgres } from './postgres-dump.js';
import { snapshotRedis } from './redis-snapshot.js';
import { findServiceContainer } from './stack-container.js';

export interface PostgresSettings {
  readonly service: string;
  readonly database: string;
  readonly user: string;
  readonly checksumTables: string;
}

export interface RedisSettings {
  readonly service: string;
  readonly passwordVariable: string;
  readonly port: number;
}

export interface BackupRequest {
  readonly store: ObjectStore;
  readonly layout: BackupLayout;
  readonly encryption: Encryption;
  readonly hostLayout: HostLayout;
  readonly project: string;
  readonly postgres: PostgresSettings | undefined;
  readonly redis: RedisSettings | undefined;
  readonly jetstream: JetStreamSource | undefined;
  /** Takes the DigitalOcean volume snapshot (named after the backup id) when the volume is set. */
  readonly volumeSnapshot?: ((backupId: string) => Promise<VolumeSnapshotFacts>) | undefined;
  /** The longest any one part may take (default 6 h). */
  readonly partTimeoutMs?: number;
  readonly partSize?: number;
  readonly progressIntervalMs?: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly signal?: AbortSignal;
}

export interface BackupOutcome {
  readonly backupId: string;
  readonly complete: boolean;
  readonly manifestKey: string;
  readonly manifest: BackupManifest | undefined;
  readonly objects: readonly ManifestObject[];
  readonly phases: readonly PhaseRecord[];
  readonly durationMs: number;
  readonly warnings: readonly string[];
  readonly error: Error | undefined;
  /** Objects of the failed run deleted again. */
  readonly cleanedUp: readonly string[];
}

export async function takeBackup(connection: SshConnection, request: BackupRequest): Promise<BackupOutcome> {
  const { logger, layout, store } = request;
  const now = request.now ?? (() => new Date());
  const startedAt = now();
  const backupId = newBackupId(startedAt);
  const started = performance.now();
  const clock = new PhaseClock(logger, started);
  const encrypted = request.encryption.scheme === 'age';
  const timeoutMs = request.partTimeoutMs ?? 6 * 3600 * 1000;
  const objects: ManifestObject[] = [];
  const warnings: string[] = [];
  const durations: Record<string, number> = {};
  let postgres: PostgresFacts | null = null;
  let redis: RedisFacts | null = null;
  let jetstream: JetStreamFacts | null = null;
  let volumeSnapshot: VolumeSnapshotFacts | null = null;
  let release: BackupManifest['release'];
  logger.info(`Backup ${backupId} of project ${request.project} on ${connection.host} into ${store.bucket}/${layout.dir(backupId)} (${encrypted ? `age, ${request.encryption.scheme === 'age' ? request.encryption.recipients.length : 0} recipient(s)` : 'NOT encrypted'}).`);

  const store1 = (part: ManifestObject['part'], name: string, produce: (sink: Writable, signal: AbortSignal) => Promise<void>, label: string): Promise<StoredObject> =>
    uploadObject({
      store,
      key: layout.objectKey(backupId, part, name, encrypted),
      encryption: request.encryption,
      produce,
      label,
      logger,
      ...(request.partSize !== undefined ? { partSize: request.partSize } : {}),
      ...(request.progressIntervalMs !== undefined ? { progressIntervalMs: request.progressIntervalMs } : {}),
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
    });
  const record = (part: ManifestObject['part'], name: string, object: StoredObject): void => {
    objects.push({ part, name, ...object });
  };

  try {
    await clock.run('Check the bucket', () => store.checkBucket());
    release = await clock.run('Read the release running', async () => {
      const current = await readCurrent(connection, request.hostLayout);
      const id = current?.startsWith('releases/') === true ? current.slice('releases/'.length) : undefined;
      if (id === undefined) {
        warnings.push(`${request.hostLayout.current} points at no release: the manifest records none.`);
        return null;
      }
      try {
        const { manifest } = await readInstalledRelease(connection, request.hostLayout, id);
        logger.info(`Release running: ${id} (git ${manifest.git.sha.slice(0, 12)}, signed ${manifest.createdAt}).`);
        return { id, gitSha: manifest.git.sha, createdAt: manifest.createdAt };
      } catch (error: unknown) {
        warnings.push(`The manifest of release ${id} could not be read (${error instanceof Error ? error.message : String(error)}): the backup records the id only.`);
        return { id, gitSha: 'unknown', createdAt: 'unknown' };
      }
    });

    const pg = request.postgres;
    if (pg !== undefined) {
      const t = performance.now();
      await clock.run(`Postgres: pg_dump of ${pg.database}`, async () => {
        const container = await findServiceContainer(connection, request.project, pg.service);
        const object = await store1('postgres', pg.database, async (sink, signal) => {
          postgres = await dumpPostgres(connection, { container, database: pg.database, user: pg.user, checksumTables: pg.checksumTables }, sink, signal, timeoutMs);
        }, `postgres ${pg.database}`);
        record('postgres', pg.database, object);
      });
      durations['postgres'] = Math.round(performance.now() - t);
    }

    const rd = request.redis;
    if (rd !== undefined) {
      const t = performance.now();
      await clock.run('Redis: BGSAVE and the RDB snapshot', async () => {
        const container = await findServiceContainer(connection, request.project, rd.service);
        const object = await store1('redis', 'dump', async (sink, signal) => {
          redis = await snapshotRedis(connection, { container, passwordVariable: rd.passwordVariable, port: rd.port }, sink, signal, timeoutMs);
        }, 'redis dump.rdb');
        record('redis', 'dump', object);
      });
      durations['redis'] = Math.round(performance.now() - t);
    }

    const js = request.jetstream;
    if (js !== undefined) {
      const t = performance.now();
      jetstream = await clock.run('JetStream: stream snapshots', async () => {
        const result = await backupJetStream(connection, js, (name, produce) => store1('jetstream', name, produce, `jetstream ${name}`), logger);
        result.objects.forEach((object, i) => record('jetstream', result.facts.streams[i]?.name ?? `stream-${i}`, object));
        return result.facts;
      });
      durations['jetstream'] = Math.round(performance.now() - t);
    }

    const snap = request.volumeSnapshot;
    if (snap !== undefined) {
      const t = performance.now();
      volumeSnapshot = await clock.run('JetStream volume: DigitalOcean snapshot', () => snap(backupId));
      durations['volumeSnapshot'] = Math.round(performance.now() - t);
    }

    const manifest: BackupManifest = {
      schemaVersion: 1,
      backupId,
      prefix: layout.prefix,
      startedAt: startedAt.toISOString(),
      completedAt: now().toISOString(),
      host: connection.host,
      project: request.project,
      release,
      encryption: request.encryption.scheme === 'age' ? { scheme: 'age', recipients: [...request.encryption.recipients] } : { scheme: 'none' },
      objects,
      postgres,
      redis,
      jetstream,
      volumeSnapshot,
      durationsMs: { ...durations, total: Math.round(performance.now() - started) },
    };
    await clock.run('Upload the manifest (the backup is complete with it)', () => store.putObject(layout.manifestKey(backupId), serializeBackupManifest(manifest), 'application/json'));
    logger.info(`Backup ${backupId} is complete: ${objects.length} object(s) and ${layout.manifestKey(backupId)}.`);
    return { backupId, complete: true, manifestKey: layout.manifestKey(backupId), manifest, objects, phases: clock.records, durationMs: Math.round(performance.now() - started), warnings, error: undefined, cleanedUp: [] };
  } catch (error: unknown) {
    const failure = error instanceof Error ? error : new Error(String(error));
    logger.error(`Backup ${backupId} failed: ${failure.message}`);
    const cleanedUp = await removeFailedRun(store, layout.dir(backupId), logger, warnings);
    return { backupId, complete: false, manifestKey: layout.manifestKey(backupId), manifest: undefined, objects, phases: clock.records, durationMs: Math.round(performance.now() - started), warnings, error: failure, cleanedUp };
  }
}

/** Deletes what a failed run stored (inside its own folder only); a failure here is a warning. */
async function removeFailedRun(store: ObjectStore, dir: string, logger: Logger, warnings: string[]): Promise<string[]> {
  try {
    const keys = (await store.list(dir)).map((e) => e.key);
    if (keys.length === 0) return [];
    await store.deleteKeys(keys, dir);
    logger.info(`Removed the ${keys.length} object(s) the failed backup had stored under ${dir}.`);
    return keys;
  } catch (error: unknown) {
    warnings.push(`The objects of the failed backup under ${dir} could not be removed (${error instanceof Error ? error.message : String(error)}); retention removes incomplete backups later.`);
    return [];
  }
}
