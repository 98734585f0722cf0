import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_DIGEST_PATTERN, imageRepository, SERVICE_NAME_PATTERN } from './image-reference.js';
import type { ReleaseImage } from './manifest.js';
import type { ReleaseSource } from './release-source.js';
import { ReleaseSourceError } from './release-source-error.js';
import { SERVICES_FILE } from './services-file.js';
import { errorCode } from './error-code.js';

/**
 * The image digests a release pins, collected from what the build legs left (a folder with one file
 * per service holding `sha256:<64 hex>`), the matrix's reused digests, or an inline JSON map. Sign
 * takes exactly the expected services: a missing one, an extra one or a malformed digest is an
 * error naming the service and where its digest came from.
 */
export type DigestOrigin = 'digests' | 'reused' | 'services';

export class DigestError extends Error {
  override readonly name = 'DigestError';

  /** `origin`: which of the caller's inputs is at fault. */
  readonly origin: DigestOrigin;
  constructor(origin: DigestOrigin, message: string) {
    super(message);
    this.origin = origin;
  }
}

/** service -> `sha256:...` */
export type DigestMap = ReadonlyMap<string, string>;

/** `digests` as given: inline JSON when it starts with `{`, otherwise a folder. */
export async function readDigests(value: string): Promise<DigestMap> {
  return value.trim().startsWith('{') ? parseDigestMap(value, 'digests') : readDigestFolder(value);
}

/** A folder of files named after their service, each holding `sha256:<64 hex>` and at most one newline. */
export async function readDigestFolder(folder: string): Promise<DigestMap> {
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch (error: unknown) {
    throw new DigestError('digests', `the digests folder ${folder} cannot be read (${errorCode(error)})`);
  }
  const digests = new Map<string, string>();
  for (const name of names) {
    const path = join(folder, name);
    const info = await lstat(path);
    if (info.isDirectory()) {
      throw new DigestError(
        'digests',
        `${path} is a folder; the digests folder holds one file per service (download the digest artifacts with merge-multiple: true)`,
      );
    }
    if (!info.isFile()) throw new DigestError('digests', `${path} is not a regular file (one file per service, holding its digest)`);
    if (!SERVICE_NAME_PATTERN.test(name)) {
      throw new DigestError('digests', `${path}: "${name}" is not a service name; each file is named after its compose service`);
    }
    let content: string;
    try {
      content = await readFile(path, 'utf8');
    } catch (error: unknown) {
      throw new DigestError('digests', `${path} cannot be read (${errorCode(error)})`);
    }
    digests.set(name, checkDigest(content.replace(/\r?\n$/, ''), 'digests', `${path} (service ${name})`));
  }
  return digests;
}

/** A JSON object service -> digest (the `reused` input, or `digests` given inline). */
export function parseDigestMap(json: string, origin: DigestOrigin): DigestMap {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error: unknown) {
    throw new DigestError(origin, `${origin} is not JSON (${error instanceof Error ? error.message : String(error)}); expected {"<service>": "sha256:<64 hex>", ...}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DigestError(origin, `${origin} must be a JSON object {"<service>": "sha256:<64 hex>", ...}`);
  }
  const digests = new Map<string, string>();
  for (const [service, digest] of Object.entries(value as Record<string, unknown>)) {
    if (!SERVICE_NAME_PATTERN.test(service)) throw new DigestError(origin, `${origin}: "${service}" is not a service name`);
    if (typeof digest !== 'string') throw new DigestError(origin, `${origin}: the digest of ${service} must be a string "sha256:<64 hex>"`);
    digests.set(service, checkDigest(digest, origin, `${origin} (service ${service})`));
  }
  return digests;
}

/** Service names separated by newlines or commas; blanks and `#` comments dropped. */
export function parseServiceList(text: string): string[] {
  const services = text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
  for (const service of services) {
    if (!SERVICE_NAME_PATTERN.test(service)) throw new DigestError('services', `services: "${service}" is not a service name`);
  }
  return [...new Set(services)];
}

export interface DigestSelection {
  readonly digests: DigestMap;
  readonly reused?: DigestMap;
  /** The services expected; default: services.yml's images (reused ones included). */
  readonly services?: readonly string[];
  /** Default: services.yml's registry. */
  readonly registry?: string;
}

/**
 * service -> pinned image, for exactly the expected services. Every service of the compose files
 * must be among them (every image runs by digest), and each must have an image in services.yml.
 */
export function resolveReleaseImages(source: ReleaseSource, selection: DigestSelection): Record<string, ReleaseImage> {
  const merged = new Map(selection.digests);
  for (const [service, digest] of selection.reused ?? new Map<string, string>()) {
    const built = merged.get(service);
    if (built !== undefined && built !== digest) {
      throw new DigestError('reused', `service ${service} has a built digest (${built}) and a different reused one (${digest}); a service is either built or reused`);
    }
    merged.set(service, digest);
  }
  const byService = new Map(source.images.map((i) => [i.service, i.image]));
  const expected = selection.services ?? [...new Set([...byService.keys(), ...(selection.reused?.keys() ?? [])])];
  const expectedSet = new Set(expected);
  const origin: DigestOrigin = selection.services === undefined ? 'digests' : 'services';

  const missing = expected.filter((s) => !merged.has(s));
  if (missing.length > 0) {
    throw new DigestError('digests', `missing digest for ${plural(missing, 'service')}: ${missing.join(', ')} (no digest file or reused digest; did its build leg upload it?)`);
  }
  const unexpected = [...merged.keys()].filter((s) => !expectedSet.has(s));
  if (unexpected.length > 0) {
    throw new DigestError(origin, `unexpected ${plural(unexpected, 'service')}: ${unexpected.join(', ')} has a digest but is not among the expected services (${selection.services === undefined ? "services.yml's images" : 'the services input'})`);
  }
  const noImage = expected.filter((s) => !byService.has(s));
  if (noImage.length > 0) {
    throw new DigestError(origin, `${plural(noImage, 'service')} ${noImage.join(', ')} expected, but services.yml lists no image for it; add it under images`);
  }
  const composeServices = new Set(source.composeServices);
  const notInCompose = expected.filter((s) => !composeServices.has(s));
  if (notInCompose.length > 0) {
    throw new DigestError(origin, `${plural(notInCompose, 'service')} ${notInCompose.join(', ')} not defined by any compose file (${source.compose.join(', ')})`);
  }
  const unpinned = source.composeServices.filter((s) => !expectedSet.has(s));
  if (unpinned.length > 0) {
    throw new DigestError(origin, `compose ${plural(unpinned, 'service')} ${unpinned.join(', ')} would run without a pinned digest; every service runs by digest: add it to services.yml images and build it`);
  }

  const registry = selection.registry ?? source.registry;
  if (registry === undefined) {
    throw new ReleaseSourceError(SERVICES_FILE, 'names no registry, and none was given (sign\'s registry input): add registry: host[:port]/path to services.yml or set the input');
  }
  const images: Record<string, ReleaseImage> = {};
  for (const service of [...expected].sort()) {
    images[service] = { image: imageRepository(registry, byService.get(service) ?? ''), digest: merged.get(service) ?? '' };
  }
  return images;
}

function checkDigest(value: string, origin: DigestOrigin, where: string): string {
  if (IMAGE_DIGEST_PATTERN.test(value)) return value;
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  throw new DigestError(origin, `${where}: malformed digest ${shown}; expected "sha256:" followed by 64 lower-case hex digits`);
}

function plural(items: readonly string[], word: string): string {
  return items.length === 1 ? word : `${word}s`;
}
