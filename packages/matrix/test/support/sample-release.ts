import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The sample release source of this repository (examples/titan). */
export const SAMPLE_RELEASE = resolve(import.meta.dirname, '../../../../examples/titan');
export const SAMPLE_SERVICES_FILE = join(SAMPLE_RELEASE, 'services.yml');

/** A private copy of examples/titan that a test may change; remove() deletes it. */
export async function copySampleRelease(): Promise<{ root: string; dir: string; servicesFile: string; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'titan-matrix-'));
  const dir = join(root, 'examples/titan');
  await cp(SAMPLE_RELEASE, dir, { recursive: true });
  return { root, dir, servicesFile: join(dir, 'services.yml'), remove: () => rm(root, { recursive: true, force: true }) };
}
