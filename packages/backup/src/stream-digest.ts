/**
 * A pass-through that hashes (sha256) and counts the bytes flowing through it, and reports progress
 * (bytes and rate) to the log every few seconds while it flows: what the backup records of every
 * object, before and after encryption, and what a restore checks again. The bytes it counts pace
 * the collection of the stream's dead chunks (garbage-pacer.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Logger } from '@titan/log/logger';
import { pace } from './garbage-pacer.js';

export class StreamDigest extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;
  #hex: string | undefined;

  get bytes(): number {
    return this.#bytes;
  }

  /** The sha256 (hex) of everything that passed; only once the stream has ended. */
  get sha256(): string {
    if (this.#hex === undefined) throw new Error('The digest is known only once the stream has ended.');
    return this.#hex;
  }

  get finished(): boolean {
    return this.#hex !== undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    pace(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#hex = this.#hash.digest('hex');
    callback();
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit] ?? 'TiB'}`;
}

export function formatRate(bytes: number, ms: number): string {
  return `${formatBytes(ms > 0 ? (bytes * 1000) / ms : 0)}/s`;
}

/** Logs `label: N MiB, R MiB/s` every `intervalMs` while `digest` flows; stop() ends it. */
export function reportProgress(digest: StreamDigest, label: string, logger: Logger, intervalMs = 5000): { stop(): void } {
  const started = performance.now();
  let last = 0;
  const timer = setInterval(() => {
    const bytes = digest.bytes;
    if (bytes === last) {
      logger.info(`${label}: ${formatBytes(bytes)} so far, waiting for data`);
      return;
    }
    last = bytes;
    logger.info(`${label}: ${formatBytes(bytes)} so far, ${formatRate(bytes, performance.now() - started)}`);
    const memory = process.memoryUsage();
    logger.debug(`${label}: memory rss ${formatBytes(memory.rss)}, heap ${formatBytes(memory.heapUsed)} of ${formatBytes(memory.heapTotal)}, external ${formatBytes(memory.external)}, array buffers ${formatBytes(memory.arrayBuffers)}`);
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
