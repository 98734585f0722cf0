/**
 * The last stage before an upload: passes every byte on at once, but holds back the END of the
 * stream until the producer of the data says it succeeded (`release()`), e.g. the remote pg_dump
 * exited 0. If the producer failed (`fail(error)`: a non-zero exit, a signal, a lost SSH connection),
 * the stream errors instead of ending, so the multipart upload is aborted and no object is ever
 * completed from a dump that broke off half-way.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class CommitGate extends Transform {
  #verdict: { ok: true } | { ok: false; error: Error } | undefined;
  #waiting: TransformCallback | undefined;

  release(): void {
    if (this.#verdict !== undefined) return;
    this.#verdict = { ok: true };
    this.#settle();
  }

  fail(error: Error): void {
    if (this.#verdict !== undefined) return;
    this.#verdict = { ok: false, error };
    this.#settle();
    // The producer is gone: error out now, whether or not the input ended.
    if (!this.destroyed) this.destroy(error);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#waiting = callback;
    this.#settle();
  }

  #settle(): void {
    const callback = this.#waiting;
    if (callback === undefined || this.#verdict === undefined) return;
    this.#waiting = undefined;
    if (this.#verdict.ok) callback();
    else callback(this.#verdict.error);
  }
}
