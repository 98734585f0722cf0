/**
 * The JetStream streams of a backup restored into the stack's own NATS (reached through the SSH
 * connection, as the backup reaches it). For each stream of the backup: when the stream exists,
 * its live content is first kept, a snapshot of it through the same API written on the host
 * (`<keepDir>/<stream>.snapshot`, 0600, complete or not at all), and only then is it deleted; the
 * backup's snapshot is rebuilt through the restore API, committed only once the object's sha256
 * checked, and its message count compared with the backup's. When that fails, the kept snapshot
 * is put back, so a failed restore leaves the stream as it was. The NATS user must be allowed to
 * snapshot, delete and restore streams.
 */
import { PassThrough } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BackupManifest, ManifestObject } from '@titan/backup/backup-manifest';
import { connectNats, streamManager } from '@titan/jetstream/stream-catalog';
import { readEnvelope } from '@titan/jetstream/snapshot-envelope';
import { type RestoredStream, restoreStream } from '@titan/jetstream/stream-restore';
import { snapshotStream } from '@titan/jetstream/stream-snapshot';
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
  /** Where the content it replaced is kept on the host (a snapshot envelope), when it replaced one. */
  readonly kept: string | undefined;
}

/** Writes the live stream's snapshot to `path` on the host (atomically, 0600). */
async function keepStream(connection: SshConnection, nc: NatsConnection, stream: string, path: string): Promise<number> {
  const pipe = new PassThrough();
  const upload = connection.uploadFile(pipe, path, { mode: 0o600, timeoutMs: 30 * 60_000 });
  try {
    const { bytes } = await snapshotStream(nc, stream, pipe);
    await upload;
    return bytes;
  } catch (error: unknown) {
    pipe.destroy(error instanceof Error ? error : new Error(String(error)));
    await upload.catch(() => undefined);
    throw error;
  }
}

/** Rebuilds `stream` from the snapshot kept at `path` on the host. */
async function putBack(connection: SshConnection, nc: NatsConnection, path: string): Promise<number> {
  const pipe = new PassThrough();
  const reading = connection.streamStdout(['cat', path], pipe, { timeoutMs: 30 * 60_000 });
  reading.catch((error: unknown) => pipe.destroy(error instanceof Error ? error : new Error(String(error))));
  const { header, body } = await readEnvelope(pipe);
  const restored = await restoreStream(nc, header, body);
  await reading;
  return restored.messages;
}

export async function restoreStreamsIntoStack(
  connection: SshConnection,
  nats: StackNats,
  store: ObjectStore,
  manifest: BackupManifest,
  objects: readonly ManifestObject[],
  identity: string | undefined,
  keepDir: string,
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
        let kept: string | undefined;
        if (replaced) {
          kept = `${keepDir}/${header.stream}.snapshot`;
          if (!results.some((r) => r.kept !== undefined)) await connection.run(['mkdir', '-p', '-m', '0700', keepDir], { timeoutMs: 60_000 });
          const bytes = await keepStream(connection, nc, header.stream, kept);
          logger.info(`Stream ${header.stream} as it was is kept on the host as ${kept} (${bytes} bytes).`);
          await jsm.streams.delete(header.stream);
          logger.info(`Deleted stream ${header.stream} on ${where}, to restore it from backup ${manifest.backupId}.`);
        }
        let restored: RestoredStream | undefined;
        try {
          restored = await restoreStream(nc, header, body, { beforeCommit: () => Promise.resolve(opened.check()) });
          if (restored.messages !== expected) throw new Error(`Stream ${header.stream} was restored with ${restored.messages} messages; the backup recorded ${expected}.`);
        } catch (error: unknown) {
          const cause = (await explain(store, object)) ?? error;
          if (kept !== undefined) {
            if (restored !== undefined) await jsm.streams.delete(header.stream).catch(() => undefined);
            try {
              const messages = await putBack(connection, nc, kept);
              logger.info(`Stream ${header.stream} put back as it was (${messages} messages), from ${kept}.`);
            } catch (again: unknown) {
              logger.error(`Stream ${header.stream} could not be put back from ${kept}: ${again instanceof Error ? again.message : String(again)}. Its content is in that file (a snapshot envelope).`);
            }
          }
          throw cause;
        }
        logger.info(`Stream ${header.stream} restored on ${where}: ${restored.messages} messages up to sequence ${restored.lastSeq}, ${restored.consumers} consumer(s).`);
        results.push({ name: header.stream, messages: restored.messages, expectedMessages: expected, replaced, kept });
      }
      return results;
    } finally {
      await nc.close().catch(() => undefined);
    }
  } finally {
    await forward.close();
  }
}
