/**
 * A stream-level backup through JetStream's own snapshot API (what `nats stream backup` does),
 * consistent per stream and restorable into any NATS server:
 *
 *   1. subscribe to a fresh inbox, then request `$JS.API.STREAM.SNAPSHOT.<stream>` with
 *      `{deliver_subject, chunk_size, no_consumers: false}`: the server answers with the stream's
 *      configuration and state at the snapshot, then sends the snapshot (an S2-compressed tar of the
 *      stream's store, consumers included) to the inbox in chunks;
 *   2. every chunk carries a reply subject: answering it acknowledges the chunk (the server's flow
 *      control, so it never runs ahead of us); we answer only once the chunk was accepted downstream;
 *   3. an empty message ends the snapshot; a message with a status header (e.g. 408 No Flow
 *      Response, 500) is the server giving up, an error.
 *
 * What is written to `sink` is the snapshot envelope (snapshot-envelope.ts): one header line with
 * the configuration and state, then the snapshot bytes.
 */
import type { Writable } from 'node:stream';
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { encodeEnvelopeHeader, type SnapshotHeader } from './snapshot-envelope.js';
import { JetStreamBackupError, apiError } from './jetstream-error.js';

export interface SnapshotOptions {
  /** Bytes per chunk the server sends (default 128 KiB, at most the server's max_payload). */
  readonly chunkSize?: number;
  /** The longest wait for the server's answer or for the next chunk (default 30 s). */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface SnapshotResult {
  readonly header: SnapshotHeader;
  /** Snapshot bytes received (the envelope's header not included). */
  readonly bytes: number;
  readonly chunks: number;
}

export async function snapshotStream(nc: NatsConnection, stream: string, sink: Writable, options: SnapshotOptions = {}): Promise<SnapshotResult> {
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  let bytes = 0;
  let chunks = 0;
  try {
    const request = { deliver_subject: inbox, chunk_size: options.chunkSize ?? 128 * 1024, no_consumers: false, jsck: false };
    let answer: unknown;
    try {
      const reply = await nc.request(`$JS.API.STREAM.SNAPSHOT.${stream}`, JSON.stringify(request), { timeout: idleMs });
      answer = reply.json();
    } catch (error: unknown) {
      throw new JetStreamBackupError(`The snapshot request for stream ${stream} got no answer: ${describe(error)}.`, { cause: error });
    }
    const problem = apiError(answer);
    if (problem !== undefined) throw new JetStreamBackupError(`NATS refused the snapshot of stream ${stream}: ${problem}.`);
    const record = answer as { config?: unknown; state?: unknown };
    if (typeof record.config !== 'object' || record.config === null || typeof record.state !== 'object' || record.state === null) {
      throw new JetStreamBackupError(`The snapshot answer for stream ${stream} carries no configuration and state.`);
    }
    const header: SnapshotHeader = { stream, config: record.config as Record<string, unknown>, state: record.state as Record<string, unknown> };
    await write(sink, encodeEnvelopeHeader(header));

    const iterator = sub[Symbol.asyncIterator]();
    for (;;) {
      if (options.signal?.aborted) throw new JetStreamBackupError(`The snapshot of stream ${stream} was stopped.`);
      const next = await withTimeout(iterator.next(), idleMs, options.signal);
      if (next === 'timeout') throw new JetStreamBackupError(`The snapshot of stream ${stream} stalled: no chunk for ${Math.round(idleMs / 1000)} s after ${bytes} bytes.`);
      if (next === 'aborted') throw new JetStreamBackupError(`The snapshot of stream ${stream} was stopped.`);
      if (next.done === true) throw new JetStreamBackupError(`The snapshot of stream ${stream} ended without its last message (the subscription closed).`);
      const message = next.value;
      const code = message.headers?.code ?? 0;
      if (code >= 300) throw new JetStreamBackupError(`NATS ended the snapshot of stream ${stream}: ${code} ${message.headers?.description ?? ''}`.trim());
      if (message.data.length === 0) break;
      await write(sink, Buffer.from(message.data));
      bytes += message.data.length;
      chunks += 1;
      if (message.reply !== undefined && message.reply !== '') message.respond();
    }
    await new Promise<void>((resolve, reject) => sink.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return { header, bytes, chunks };
  } finally {
    sub.unsubscribe();
  }
}

function write(sink: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sink.destroyed) {
      reject(new JetStreamBackupError('The snapshot could not be passed on: its destination is closed.'));
      return;
    }
    const ok = sink.write(chunk, (error?: Error | null) => {
      if (error) reject(error);
    });
    if (ok) resolve();
    else {
      const onDrain = (): void => {
        sink.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        sink.off('drain', onDrain);
        reject(new JetStreamBackupError('The snapshot could not be passed on: its destination closed.'));
      };
      sink.once('drain', onDrain);
      sink.once('close', onClose);
    }
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T | 'timeout' | 'aborted'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ms);
      }),
      new Promise<'aborted'>((resolve) => {
        onAbort = () => resolve('aborted');
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
