/**
 * The proof that a backup restores, run after each one: what was UPLOADED is read back from Spaces
 * (the manifest first, then every object), decrypted with the verify key, restored into throwaway
 * Postgres, Redis and NATS containers on the runner (nothing on the trading host), and compared with
 * what the backup recorded at the source. With `host`, the Postgres proof runs in a throwaway
 * database of the stack's own Postgres instead (dropped again), when the runner has no Docker. The verdict is stored beside the backup as verify.json and
 * returned; a failed proof is a result (`ok: false` with the problems), not an exception.
 */
import { type BackupLayout } from '@titan/backup/backup-layout';
import { type BackupManifest, type ManifestObject, parseBackupManifest } from '@titan/backup/backup-manifest';
import { findServiceContainer } from '@titan/backup/stack-container';
import type { SshConnection } from '@titan/ssh/connection';
import { restorePostgresOnHost } from './postgres-restore.js';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import { provePostgresOnRunner, type PostgresProof, type ScratchImage } from './postgres-proof.js';
import { type JetStreamProof, proveJetStreamOnRunner, proveRedisOnRunner, type RedisProof } from './runner-proofs.js';

export interface VerifyImages {
  readonly postgres: string;
  readonly redis: string;
  readonly nats: string;
  /** Extra `docker run` options for every throwaway container. */
  readonly options: readonly string[];
}

/** With `verify: host`: the Postgres proof runs in a throwaway database of the stack's own Postgres. */
export interface HostProof {
  readonly connection: SshConnection;
  readonly project: string;
  readonly service: string;
  readonly adminUser: string;
  readonly owner: string;
  readonly timeoutMs: number;
}

export interface VerifyReport {
  readonly backupId: string;
  readonly where: 'runner' | 'host';
  readonly ok: boolean;
  readonly postgres: PostgresProof | null;
  readonly redis: RedisProof | null;
  readonly jetstream: JetStreamProof | null;
  /** Why the proof failed, in one line each. */
  readonly problems: readonly string[];
  readonly verifiedAt: string;
  readonly durationMs: number;
}

export async function verifyBackup(
  store: ObjectStore,
  layout: BackupLayout,
  backupId: string,
  identity: string | undefined,
  images: VerifyImages,
  logger: Logger,
  host?: HostProof,
): Promise<VerifyReport> {
  const started = performance.now();
  const problems: string[] = [];
  let postgres: PostgresProof | null = null;
  let redis: RedisProof | null = null;
  let jetstream: JetStreamProof | null = null;
  const scratch = (image: string): ScratchImage => ({ image, options: images.options });
  try {
    const manifest = parseBackupManifest(await store.getBytes(layout.manifestKey(backupId)), layout.manifestKey(backupId));
    logger.info(`Read back ${layout.manifestKey(backupId)}: ${manifest.objects.length} object(s) to prove.`);
    const pg = manifest.objects.find((o) => o.part === 'postgres');
    if (pg !== undefined) {
      postgres = await attempt('Postgres', problems, () =>
        host === undefined ? provePostgresOnRunner(store, manifest, pg, identity, scratch(images.postgres), logger) : provePostgresOnHost(store, manifest, pg, identity, host, logger),
      );
      if (postgres !== null) problems.push(...postgres.problems.map((p) => `Postgres: ${p}`));
    }
    const rdb = manifest.objects.find((o) => o.part === 'redis');
    if (rdb !== undefined) {
      redis = await attempt('Redis', problems, () => proveRedisOnRunner(store, manifest, rdb, identity, scratch(images.redis), logger));
      if (redis !== null) problems.push(...redis.problems.map((p) => `Redis: ${p}`));
    }
    const streams = manifest.objects.filter((o) => o.part === 'jetstream');
    if (streams.length > 0) {
      jetstream = await attempt('JetStream', problems, () => proveJetStreamOnRunner(store, manifest, streams, identity, scratch(images.nats), logger));
      if (jetstream !== null) problems.push(...jetstream.problems.map((p) => `JetStream: ${p}`));
    }
  } catch (error: unknown) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  const report: VerifyReport = {
    backupId,
    where: host === undefined ? 'runner' : 'host',
    ok: problems.length === 0,
    postgres,
    redis,
    jetstream,
    problems,
    verifiedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
  try {
    await store.putObject(layout.verifyKey(backupId), Buffer.from(`${JSON.stringify(report, null, 2)}\n`), 'application/json');
  } catch (error: unknown) {
    logger.warning(`The verification result could not be stored as ${layout.verifyKey(backupId)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (report.ok) logger.info(`Backup ${backupId} is proven: every part restored and matched the source.`);
  else logger.error(`Backup ${backupId} did NOT prove: ${problems.join('; ')}`);
  return report;
}

/** The Postgres proof in a throwaway database beside the stack's own, dropped again whatever happened. */
async function provePostgresOnHost(store: ObjectStore, manifest: BackupManifest, object: ManifestObject, identity: string | undefined, host: HostProof, logger: Logger): Promise<PostgresProof> {
  const container = await findServiceContainer(host.connection, host.project, host.service);
  const database = `titan_verify_${manifest.backupId.slice(0, 8)}_${manifest.backupId.slice(9, 15)}_${manifest.backupId.slice(17)}`;
  try {
    const result = await restorePostgresOnHost(host.connection, { store, manifest, object, identity, container, adminUser: host.adminUser, owner: host.owner, database, timeoutMs: host.timeoutMs, logger });
    return { ok: true, tables: result.tables, problems: [], restoreMs: result.durationMs };
  } finally {
    await host.connection.run(['docker', 'exec', container.id, 'dropdb', '--if-exists', `--username=${host.adminUser}`, database], { timeoutMs: 120_000 }).then(
      () => logger.info(`Dropped the throwaway database ${database} on ${host.connection.host}.`),
      (error: unknown) => logger.warning(`The throwaway database ${database} could not be dropped: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}

async function attempt<T>(part: string, problems: string[], work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (error: unknown) {
    problems.push(`${part}: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}
