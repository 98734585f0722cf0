/**
 * The output of a remote command: a UTF-8 safe line splitter (lines cut at 64 KiB), the bounded
 * tail of stderr that error messages quote, and the stdout a run keeps (bounded, flagged when cut).
 */
import { StringDecoder } from 'node:string_decoder';

const STDERR_TAIL_LINES = 20;
const STDERR_TAIL_BYTES = 4096;
const MAX_LINE = 64 * 1024;

/** Splits a byte stream into lines (UTF-8 safe), calling `emit` for each complete line. */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  readonly #emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.#emit = emit;
  }

  push(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#emit(line.endsWith('\r') ? line.slice(0, -1) : line);
    while (this.#partial.length > MAX_LINE) {
      this.#emit(this.#partial.slice(0, MAX_LINE));
      this.#partial = this.#partial.slice(MAX_LINE);
    }
  }

  flush(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.#emit(rest);
  }
}

/** Keeps the last lines of stderr (bounded) for error messages. */
export class StderrTail {
  #lines: string[] = [];
  #chars = 0;

  push(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length + 1;
    while (this.#lines.length > STDERR_TAIL_LINES || (this.#chars > STDERR_TAIL_BYTES && this.#lines.length > 1)) {
      this.#chars -= (this.#lines.shift() ?? '').length + 1;
    }
  }

  text(): string {
    const joined = this.#lines.join('\n');
    return joined.length > STDERR_TAIL_BYTES ? joined.slice(-STDERR_TAIL_BYTES) : joined;
  }
}

/** The stdout a run keeps: at most `max` bytes; the rest is counted, dropped and flagged (onTruncated once). */
export class StdoutCapture {
  /** Every byte of stdout seen, kept or not. */
  bytes = 0;
  truncated = false;
  readonly #chunks: Buffer[] = [];
  readonly #keep: boolean;
  readonly #max: number;
  readonly #onTruncated: () => void;

  constructor(keep: boolean, max: number, onTruncated: () => void) {
    this.#keep = keep;
    this.#max = max;
    this.#onTruncated = onTruncated;
  }

  /** Counts a chunk that goes elsewhere (a stream's destination). */
  count(chunk: Buffer): void {
    this.bytes += chunk.length;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.#keep) return;
    const room = this.#max - (this.bytes - chunk.length);
    if (room >= chunk.length) {
      this.#chunks.push(chunk);
      return;
    }
    if (room > 0) this.#chunks.push(chunk.subarray(0, room));
    if (!this.truncated) this.#onTruncated();
    this.truncated = true;
  }

  kept(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}
