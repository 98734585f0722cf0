import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** The sample release source every test signs (the real one, not a copy made for tests). */
export const EXAMPLE_SOURCE = resolve(import.meta.dirname, '../../../examples/titan');

/** A scratch folder, removed by the returned cleanup. */
export async function scratch(prefix = 'titan-release-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The services examples/titan's services.yml builds, in its order. */
export async function exampleServices(source = EXAMPLE_SOURCE): Promise<string[]> {
  const spec = parse(await readFile(join(source, 'services.yml'), 'utf8')) as { images: { service: string }[] };
  return spec.images.map((i) => i.service);
}

/** A well-formed (fake) digest per service: sha256 of its name. */
export function fakeDigest(service: string, salt = ''): string {
  return `sha256:${createHash('sha256').update(`${salt}${service}`).digest('hex')}`;
}

/** A digests folder as build legs leave it: one file per service, `sha256:...` and a newline. */
export async function writeDigestFolder(dir: string, services: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const service of services) await writeFile(join(dir, service), `${fakeDigest(service)}\n`);
  return dir;
}

/** A copy of examples/titan to break on purpose. */
export async function copyExample(dir: string): Promise<string> {
  const copy = join(dir, 'source');
  await cp(EXAMPLE_SOURCE, copy, { recursive: true });
  return copy;
}

export const GIT_SHA = '0123456789abcdef0123456789abcdef01234567';
