/**
 * The artifacts of one workflow run, kept in a folder: what actions/upload-artifact stores and
 * actions/download-artifact returns, with v4's rules (a name is used once per run unless
 * `overwrite`; the files keep their paths below the upload's root).
 */
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export class ArtifactStore {
  constructor(readonly dir: string) {}

  private path(name: string): string {
    if (!/^[^/\\:*?"<>|\r\n]+$/.test(name) || name === '.' || name === '..') {
      throw new Error(`The artifact name is not valid: ${JSON.stringify(name)}. Contains the following character: a path separator or one of " : < > | * ? \\r \\n`);
    }
    return join(this.dir, name);
  }

  async has(name: string): Promise<boolean> {
    try {
      return (await stat(this.path(name))).isDirectory();
    } catch {
      return false;
    }
  }

  /** Stores `files` (paths relative to `root`) under `name`. */
  async put(name: string, root: string, files: readonly string[], overwrite: boolean): Promise<void> {
    const target = this.path(name);
    if (await this.has(name)) {
      if (!overwrite) throw new Error(`Failed to CreateArtifact: an artifact with this name already exists on the workflow run: ${name}`);
      await rm(target, { recursive: true, force: true });
    }
    await mkdir(target, { recursive: true });
    for (const file of files) await cp(join(root, file), join(target, file), { recursive: true, preserveTimestamps: true });
  }

  async names(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).sort();
    } catch {
      return [];
    }
  }

  /** Copies the artifact's files into `into`. */
  async get(name: string, into: string): Promise<void> {
    if (!(await this.has(name))) throw new Error(`Unable to download artifact(s): Artifact not found for name: ${name}`);
    await mkdir(into, { recursive: true });
    await cp(this.path(name), into, { recursive: true, preserveTimestamps: true });
  }
}

/** The artifact store of run `runId` among the runs kept in `scratch` (LocalGitHub's run-<id>-* folders). */
export async function artifactsOfRun(scratch: string, runId: number): Promise<ArtifactStore | undefined> {
  let entries: string[];
  try {
    entries = await readdir(scratch);
  } catch {
    return undefined;
  }
  const dir = entries.find((e) => e.startsWith(`run-${runId}-`));
  return dir === undefined ? undefined : new ArtifactStore(join(scratch, dir, 'artifacts'));
}
