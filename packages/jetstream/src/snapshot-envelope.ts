/**
 * How one stream's snapshot is stored: a first line naming the format, a second line holding the
 * stream's configuration and state as the snapshot answer gave them (what a restore request needs),
 * then the snapshot bytes exactly as the server sent them (an S2-compressed tar).
 *
 *   titan-jetstream-snapshot/1\n{"stream":"ORDERS","config":{…},"state":{…}}\n<snapshot bytes>
 */
import type { Readable } from 'node:stream';
import { JetStreamBackupError } from './jetstream-error.js';

export const ENVELOPE_MAGIC = 'titan-jetstream-snapshot/1';
const MAX_HEADER = 1024 * 1024;

export interface SnapshotHeader {
  readonly stream: string;
  readonly config: Record<string, unknown>;
  readonly state: Record<string, unknown>;
}

export function encodeEnvelopeHeader(header: SnapshotHeader): Buffer {
  return Buffer.from(`${ENVELOPE_MAGIC}\n${JSON.stringify(header)}\n`, 'utf8');
}

/**
 * Reads the header off `source` and returns it with the rest of the bytes (the snapshot) as an
 * async iterator of chunks, read as they are consumed.
 */
export async function readEnvelope(source: Readable): Promise<{ header: SnapshotHeader; body: AsyncIterator<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buffered = Buffer.alloc(0);

  for (;;) {
    const newlines = countNewlines(buffered);
    if (newlines >= 2) break;
    if (buffered.length > MAX_HEADER) throw new JetStreamBackupError('The snapshot object has no envelope header (more than 1 MiB without one).');
    const next = await iterator.next();
    if (next.done === true) throw new JetStreamBackupError('The snapshot object ends inside its envelope header.');
    buffered = Buffer.concat([buffered, next.value]);
  }
  const first = buffered.indexOf(10);
  const second = buffered.indexOf(10, first + 1);
  const lines = [buffered.subarray(0, first).toString('utf8'), buffered.subarray(first + 1, second).toString('utf8')];
  if (lines[0] !== ENVELOPE_MAGIC) throw new JetStreamBackupError(`The snapshot object does not start with ${ENVELOPE_MAGIC}.`);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(lines[1] ?? '') as SnapshotHeader;
  } catch {
    throw new JetStreamBackupError('The snapshot envelope header is not JSON.');
  }
  if (typeof header.stream !== 'string' || typeof header.config !== 'object' || typeof header.state !== 'object') {
    throw new JetStreamBackupError('The snapshot envelope header lacks stream, config or state.');
  }
  let rest: Buffer | undefined = buffered.subarray(second + 1);
  const body: AsyncIterator<Buffer> = {
    async next(): Promise<IteratorResult<Buffer>> {
      if (rest !== undefined) {
        const chunk = rest;
        rest = undefined;
        if (chunk.length > 0) return { done: false, value: chunk };
      }
      return iterator.next();
    },
  };
  return { header, body };
}

function countNewlines(buffer: Buffer): number {
  let count = 0;
  for (let at = buffer.indexOf(10); at !== -1 && count < 2; at = buffer.indexOf(10, at + 1)) count += 1;
  return count;
}
