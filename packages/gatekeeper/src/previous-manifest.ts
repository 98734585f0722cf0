import { readFile } from 'node:fs/promises';

/**
 * The part of a previous release's manifest the gate needs: the files it shipped, each with its
 * sha256. Used to prove that no released migration was edited or removed since.
 */
export interface ReleasedFile {
  path: string;
  sha256: string;
  size: number | undefined;
}

export interface PreviousManifest {
  files: ReleasedFile[];
}

export class PreviousManifestError extends Error {
  override readonly name = 'PreviousManifestError';
}

export async function readPreviousManifest(path: string): Promise<PreviousManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new PreviousManifestError(`${path}: cannot read the previous manifest (${code})`);
  }
  return parsePreviousManifest(text, path);
}

export function parsePreviousManifest(text: string, name: string): PreviousManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error: unknown) {
    throw new PreviousManifestError(`${name}: not JSON (${error instanceof Error ? error.message : String(error)}); give the manifest.json of the release currently deployed`);
  }
  const files = typeof data === 'object' && data !== null && 'files' in data ? data.files : undefined;
  if (!Array.isArray(files)) {
    throw new PreviousManifestError(`${name}: has no files list; a release manifest lists every file as {path, sha256, size}`);
  }
  return {
    files: files.map((entry: unknown, index) => {
      const record = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      const { path, sha256, size } = record;
      if (typeof path !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
        throw new PreviousManifestError(`${name}: files[${index}] needs a path and a sha256 (64 lowercase hex digits)`);
      }
      return { path, sha256, size: typeof size === 'number' ? size : undefined };
    }),
  };
}
