/**
 * The artifacts of one workflow run, kept in a folder: what actions/upload-artifact stores and
 * actions/download-artifact returns, with v4's rules (a name is used once per run unless
 * `overwrite`; the files keep their paths below the upload's root). Each artifact expires as GitHub's
 * do, `retention-days` (default 90) after its upload: an expired artifact is still listed (with
 * `expired: true`) but no longer downloads.
 */
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const DAY_MS = 86_400_000;

/** What GitHub's API says of an artifact (GET .../actions/runs/ID/artifacts). */
export interface ArtifactInfo {
  readonly name: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly expired: boolean;
}

export class ArtifactStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;}

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

  /** The artifacts' upload and expiry times, beside their folder. */
  private get datesFile(): string {
    return `${this.dir}.dates.json`;
  }

  private async dates(): Promise<Record<string, { createdAt: string; expiresAt: string }>> {
    try {
      return JSON.parse(await readFile(this.datesFile, 'utf8')) as Record<string, { createdAt: string; expiresAt: string }>;
    } catch {
      return {};
    }
  }

  private async setDates(name: string, createdAt: Date, expiresAt: Date): Promise<void> {
    const dates = await this.dates();
    dates[name] = { createdAt: createdAt.toISOString(), expiresAt: expiresAt.toISOString() };
    await writeFile(this.datesFile, JSON.stringify(dates));
  }

  /** The artifacts as GitHub's API lists them, expired ones included. */
  async list(now = new Date()): Promise<ArtifactInfo[]> {
    const dates = await this.dates();
    return (await this.names()).map((name) => {
      const { createdAt, expiresAt } = dates[name] ?? { createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 90 * DAY_MS).toISOString() };
      return { name, createdAt, expiresAt, expired: Date.parse(expiresAt) <= now.getTime() };
    });
  }

  /** Moves the artifact's expiry to `at` (what the passing of its retention days does on GitHub). */
  async expire(name: string, at = new Date()): Promise<void> {
    if (!(await this.has(name))) throw new Error(`no artifact ${name} in ${this.dir}`);
    const created = (await this.dates())[name]?.createdAt;
    await this.setDates(name, created === undefined ? at : new Date(created), at);
  }

  /** Stores `files` (paths relative to `root`) under `name`, kept `retentionDays` (1 to 90). */
  async put(name: string, root: string, files: readonly string[], overwrite: boolean, retentionDays = 90): Promise<void> {
    if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 90) throw new Error(`retention-days must be a whole number of days from 1 to 90, got ${retentionDays}`);
    const target = this.path(name);
    if (await this.has(name)) {
      if (!overwrite) throw new Error(`Failed to CreateArtifact: an artifact with this name already exists on the workflow run: ${name}`);
      await rm(target, { recursive: true, force: true });
    }
    await mkdir(target, { recursive: true });
    for (const file of files) await cp(join(root, file), join(target, file), { recursive: true, preserveTimestamps: true });
    const now = new Date();
    await this.setDates(name, now, new Date(now.getTime() + retentionDays * DAY_MS));
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
    const found = (await this.list()).find((a) => a.name === name);
    // GitHub's download-artifact finds no expired artifact, with this hint.
    if (found === undefined || found.expired) throw new Error(`Unable to download artifact(s): Artifact not found for name: ${name}\n        Please ensure that your artifact is not expired and the artifact was uploaded using a compatible version of toolkit/upload-artifact.`);
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
