/**
 * The JetStream streams of a backup restored into the stack's own NATS (reached through the SSH
 * connection, as the backup reaches it): each stream of the backup deleted if it exists, then
 * rebuilt from its snapshot through the restore API, committed only once the object's sha256
 * checked, and its message count compared with the backup's. The NATS user must be allowed to
 * delete and restore streams.
 */
import type { BackupManifest, ManifestObject } from '@titan/backup/backup-manifest';
import { connectNats, streamManager } from '@titan/jetstream/stream-catalog';
import { readEnvelope } from '@titan/jetstream/snapshot-envelope';
import { restoreStream } from '@titan/jetstream/stream-restore';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import type { SshConnection } from '@titan/ssh/connection';
import { explain, openObject } from './backup-object.js';

export interface StackNats {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Never logged. */
  readonly password: string;
}

export interface StreamRestoreResult {
  readonly name: string;
  readonly messages: number;
  readonly expectedMessages: number;
  /** True when the stream existed and was replaced. */
  readonly replaced: boolean;
}

export async function restoreStreamsIntoStack(
  connection: SshConnection,
  nats: StackNats,
  store: ObjectStore,
  manifest: BackupManifest,
  objects: readonly ManifestObject[],
  identity: string | undefined,
  logger: Logger,
): Promise<StreamRestoreResult[]> {
  const where = `NATS at ${nats.host}:${nats.port} on ${connection.host}`;
  const forward = await connection.forwardLocal(nats.host, nats.port);
  try {
    const nc = await connectNats({ servers: `127.0.0.1:${forward.localPort}`, user: nats.user, password: nats.password, name: 'titan-restore', timeoutMs: 30_000, where });
    try {
      const jsm = await streamManager(nc, where);
      const existing = new Set<string>();
      for await (const name of jsm.streams.names()) existing.add(name);
      const results: StreamRestoreResult[] = [];
      for (const object of objects) {
        const expected = manifest.jetstream?.streams.find((s) => s.name === object.name)?.messages ?? 0;
        const opened = await openObject(store, object, manifest.encryption, identity);
        const { header, body } = await readEnvelope(opened.plain);
        const replaced = existing.has(header.stream);
        if (replaced) {
          await jsm.streams.delete(header.stream);
          logger.info(`Deleted stream ${header.stream} on ${where}, to restore it from backup ${manifest.backupId}.`);
        }
        let restored;
        try {
          restored = await restoreStream(nc, header, body, { beforeCommit: () => Promise.resolve(opened.check()) });
        } catch (error: unknown) {
          throw (await explain(store, object)) ?? error;
        }
        if (restored.messages !== expected) throw new Error(`Stream ${header.stream} was restored with ${restored.messages} messages; the backup recorded ${expected}.`);
        logger.info(`Stream ${header.stream} restored on ${where}: ${restored.messages} messages up to sequence ${restored.lastSeq}, ${restored.consumers} consumer(s).`);
        results.push({ name: header.stream, messages: restored.messages, expectedMessages: expected, replaced });
      }
      return results;
    } finally {
      await nc.close().catch(() => undefined);
    }
  } finally {
    await forward.close();
  }
}
