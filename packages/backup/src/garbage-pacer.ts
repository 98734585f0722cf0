/**
 * Keeps a stream's memory bounded between garbage collections. Every chunk of a backup or restore
 * stream (a socket read, an SSH packet, a sealed age chunk) is a new ArrayBuffer that dies young; V8
 * frees such buffers only when it collects, and with little JavaScript garbage beside them it
 * collects late, when external memory has grown by tens of MB (measured: a 300 MB stream took a
 * process from 108 to 213 MB of peak RSS, none of it live). A young-generation collection
 * (scavenge, well under a millisecond here) every few MiB of stream frees them as they die (the
 * same stream then peaked at 140 MB).
 *
 * V8's `gc()` is made available at run time (the `--expose-gc` flag, then read from a new
 * context, where V8 installs it): only an action's entry point calls enableGarbagePacing(), once;
 * without it pacing is a no-op, so library code and tests run unchanged.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'minor' | 'major' }) => void;

/** Stream bytes (as counted by every digest they pass) between two collections. */
export const PACE_BYTES = 4 * 1024 * 1024;

let collect: Collect | undefined;
let counted = 0;

/** Makes pace() collect: call once, from an action's entry point, before any stream starts. */
export function enableGarbagePacing(): boolean {
  if (collect !== undefined) return true;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    if (typeof gc === 'function') collect = gc as Collect;
  } catch {
    collect = undefined;
  }
  return collect !== undefined;
}

/** Counts `bytes` of stream; every PACE_BYTES, a young-generation collection (when enabled). */
export function pace(bytes: number): void {
  if (collect === undefined) return;
  counted += bytes;
  if (counted < PACE_BYTES) return;
  counted = 0;
  collect({ type: 'minor' });
}
