/**
 * The pacing of collections under a stream: without enableGarbagePacing() nothing is collected by
 * it; once enabled (Node 24: V8's gc() read from a new context), every PACE_BYTES of digested stream
 * is one young-generation collection, as Node's own GC performance entries show.
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { enableGarbagePacing, pace, PACE_BYTES } from '../src/garbage-pacer.js';
import { StreamDigest } from '../src/stream-digest.js';

/** Minor collections seen while `work` runs (entries arrive asynchronously: a short wait after). */
async function minorCollections(work: () => Promise<void> | void): Promise<number> {
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor += 1;
  });
  observer.observe({ entryTypes: ['gc'] });
  await work();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return minor;
}

describe('garbage pacing', () => {
  it('collects nothing until enabled; then one young-generation collection per PACE_BYTES of digested stream', async () => {
    // Not enabled: whatever V8 collects on its own meanwhile, not one per call.
    expect(await minorCollections(() => { for (let i = 0; i < 8; i++) pace(PACE_BYTES); })).toBeLessThan(4);
    expect(enableGarbagePacing()).toBe(true);
    expect(await minorCollections(() => { for (let i = 0; i < 8; i++) pace(PACE_BYTES); })).toBeGreaterThanOrEqual(8);
    // Through a digest: 8 x PACE_BYTES in 64 KiB chunks, each a new buffer as a stream's would be.
    const chunks = Array.from({ length: (8 * PACE_BYTES) / 65536 }, () => Buffer.alloc(65536, 7));
    const digest = new StreamDigest();
    digest.resume();
    // (V8 may fold a requested scavenge into one it was about to do: at least 6 of the 8.)
    expect(await minorCollections(() => pipeline(Readable.from(chunks), digest))).toBeGreaterThanOrEqual(6);
    expect(digest.bytes).toBe(8 * PACE_BYTES);
  });
});
