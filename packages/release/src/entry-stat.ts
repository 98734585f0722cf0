import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { errorCode } from './error-code.js';

/** What is at a path, without following a symbolic link: its stats, or why there are none. */
export type EntryStat =
  | { readonly info: Stats }
  | { readonly info: undefined; readonly missing: boolean; readonly code: string; readonly error: unknown };

/** lstat that tells a missing entry (ENOENT) from one that cannot be read (its errno code). */
export async function lstatEntry(path: string): Promise<EntryStat> {
  try {
    return { info: await lstat(path) };
  } catch (error: unknown) {
    const code = errorCode(error);
    return { info: undefined, missing: code === 'ENOENT', code, error };
  }
}
