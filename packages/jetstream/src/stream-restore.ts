/**
 * A stream snapshot restored into a NATS server through JetStream's restore API (what
 * `nats stream restore` does):
 *
 *   1. request `$JS.API.STREAM.RESTORE.<stream>` with the configuration and state the snapshot
 *      recorded; the server answers with a subject to send the snapshot to;
 *   2. send the snapshot in chunks, each a request the server acknowledges (an empty reply; an error
 *      text otherwise), so it is never overrun;
 *   3. `beforeCommit` runs once every chunk was sent (the caller checks the object's sha256 there);
 *      only if it passes is the final empty message sent, on which the server builds the stream and
 *      answers with its info. If it throws, the server is never told to build the stream.
 *
 * The stream must not exist on the server (a restore never overwrites: the caller deletes first
 * when it means to replace).
 */
import { type NatsConnection } from '@nats-io/transport-node';
import { apiError, JetStreamBackupError } from './jetstream-error.js';
import type { SnapshotHeader } from './snapshot-envelope.js';
import { type StreamCounts, type StreamStateFields, streamCounts } from './stream-catalog.js';

export interface RestoreOptions {
  /** Bytes per chunk sent (default 128 KiB; at most the server's max_payload). */
  readonly chunkSize?: number;
  /** Time for each acknowledgement (default 30 s) and for the server to build the stream (default 10 min). */
  readonly chunkTimeoutMs?: number;
  readonly buildTimeoutMs?: number;
  readonly beforeCommit?: () => Promise<void>;
  readonly onProgress?: (bytes: number) => void;
}

export interface RestoredStream extends StreamCounts {
  readonly sentBytes: number;
}

export async function restoreStream(nc: NatsConnection, header: SnapshotHeader, body: AsyncIterator<Buffer>, options: RestoreOptions = {}): Promise<RestoredStream> {
  const name = header.stream;
  const chunkTimeout = options.chunkTimeoutMs ?? 30_000;
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  const chunkSize = Math.max(1024, Math.min(options.chunkSize ?? 128 * 1024, maxPayload - 4096));
  let answer: unknown;
  try {
    answer = (await nc.request(`$JS.API.STREAM.RESTORE.${name}`, JSON.stringify({ config: header.config, state: header.state }), { timeout: chunkTimeout })).json();
  } catch (error: unknown) {
    throw new JetStreamBackupError(`The restore request for stream ${name} got no answer: ${describe(error)}.`, { cause: error });
  }
  const problem = apiError(answer);
  if (problem !== undefined) throw new JetStreamBackupError(`NATS refused to restore stream ${name}: ${problem}.`);
  const deliver = (answer as { deliver_subject?: unknown }).deliver_subject;
  if (typeof deliver !== 'string' || deliver === '') throw new JetStreamBackupError(`The restore answer for stream ${name} names no subject to send the snapshot to.`);

  let sent = 0;
  const send = async (chunk: Uint8Array): Promise<void> => {
    let reply;
    try {
      reply = await nc.request(deliver, chunk, { timeout: chunkTimeout });
    } catch (error: unknown) {
      throw new JetStreamBackupError(`Restoring stream ${name}: the server did not acknowledge a chunk at byte ${sent}: ${describe(error)}.`, { cause: error });
    }
    if (reply.data.length > 0) throw new JetStreamBackupError(`Restoring stream ${name}: the server refused a chunk at byte ${sent}: ${reply.string()}.`);
    sent += chunk.length;
    options.onProgress?.(sent);
  };
  for (;;) {
    const next = await body.next();
    if (next.done === true) break;
    for (let at = 0; at < next.value.length; at += chunkSize) await send(next.value.subarray(at, at + chunkSize));
  }
  await options.beforeCommit?.();

  let final: unknown;
  try {
    final = (await nc.request(deliver, new Uint8Array(0), { timeout: options.buildTimeoutMs ?? 600_000 })).json();
  } catch (error: unknown) {
    throw new JetStreamBackupError(`Restoring stream ${name}: the server did not report the restored stream: ${describe(error)}.`, { cause: error });
  }
  const failed = apiError(final);
  if (failed !== undefined) throw new JetStreamBackupError(`NATS could not build stream ${name} from the snapshot: ${failed}.`);
  return { ...streamCounts(name, (final as { state?: StreamStateFields }).state ?? {}), sentBytes: sent };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
