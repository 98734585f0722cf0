/**
 * The JetStream part of a backup: every stream (or the chosen ones) snapshotted through JetStream's
 * own API and stored as one object each. NATS listens on the host's loopback only: the client
 * connects to a local forward (127.0.0.1:<free port> on the runner) whose connections go through the
 * one SSH connection to NATS as the host sees it. Nothing is installed or run on the host.
 */
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { connectNats, listStreams, streamCounts, streamManager } from '@titan/jetstream/stream-catalog';
import { snapshotStream } from '@titan/jetstream/stream-snapshot';
import type { JetStreamFacts, StreamFacts } from './backup-manifest.js';
import type { StoredObject } from './backup-manifest.js';

export interface JetStreamSource {
  /** NATS as the host sees it. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Never logged. */
  readonly password: string;
  /** Stream names, or undefined for every stream of the account. */
  readonly streams: readonly string[] | undefined;
  readonly timeoutMs: number;
}

export type StoreStream = (name: string, produce: (sink: import('node:stream').Writable, signal: AbortSignal) => Promise<void>) => Promise<StoredObject>;

export async function backupJetStream(
  connection: SshConnection,
  source: JetStreamSource,
  store: StoreStream,
  logger: Logger,
): Promise<{ facts: JetStreamFacts; objects: StoredObject[] }> {
  const where = `NATS at ${source.host}:${source.port} on ${connection.host}`;
  const forward = await connection.forwardLocal(source.host, source.port);
  try {
    const nc = await connectNats({ servers: `127.0.0.1:${forward.localPort}`, user: source.user, password: source.password, name: 'titan-backup', timeoutMs: source.timeoutMs, where });
    try {
      const jsm = await streamManager(nc, where);
      const all = await listStreams(jsm);
      const chosen = source.streams === undefined ? all : all.filter((s) => source.streams?.includes(s.name));
      const missing = (source.streams ?? []).filter((name) => !all.some((s) => s.name === name));
      if (missing.length > 0) throw new Error(`${where} has no stream ${missing.join(', ')} (it has: ${all.map((s) => s.name).join(', ') || 'none'}).`);
      logger.info(`${where}: ${all.length} stream(s); backing up ${chosen.map((s) => `${s.name} (${s.messages} messages)`).join(', ') || 'none'}.`);
      const streams: StreamFacts[] = [];
      const objects: StoredObject[] = [];
      for (const stream of chosen) {
        let facts: StreamFacts | undefined;
        const object = await store(stream.name, async (sink, signal) => {
          const result = await snapshotStream(nc, stream.name, sink, { signal, idleTimeoutMs: source.timeoutMs });
          facts = streamCounts(stream.name, result.header.state);
        });
        if (facts === undefined) throw new Error(`The snapshot of stream ${stream.name} reported no state.`);
        streams.push(facts);
        objects.push(object);
      }
      return { facts: { serverVersion: nc.info?.version ?? 'unknown', streams }, objects };
    } finally {
      await nc.close().catch(() => undefined);
    }
  } finally {
    await forward.close();
  }
}
