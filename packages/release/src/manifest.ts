import { canonicalJson } from './canonical-json.js';
import { bundlePathProblem } from './bundle-path.js';
import { IMAGE_DIGEST_PATTERN, IMAGE_REPOSITORY_PATTERN, SERVICE_NAME_PATTERN } from './image-reference.js';
import { CREATED_AT_PATTERN, GIT_SHA_PATTERN, RELEASE_ID_PATTERN } from './release-id.js';
import { checkStackProfile, formatAt, type StackProfile } from './stack-profile.js';

/**
 * manifest.json: what a release is, signed. Stored as RFC 8785 canonical JSON (UTF-8, no trailing
 * newline); manifest.sig is the Ed25519 signature of exactly those bytes. Every file of the bundle
 * except these two is listed in `files`, sorted by path.
 */
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
/** The compose override that pins every service to its digest; always the last compose file. */
export const DIGEST_OVERRIDE_FILE = 'docker-compose.digests.yml';
/**
 * Version 2 carries the stack profile (`stack`, stack-profile.ts). Version 1 (signed before profiles)
 * still parses, so a host can verify and return to such a release, but it has no profile: whatever
 * needs one (stackProfileOf) refuses it with a clear error.
 */
export const MANIFEST_SCHEMA_VERSION = 2;

export interface ManifestFile {
  /** Relative to the bundle folder, see bundle-path.ts. */
  readonly path: string;
  /** sha256 of the file's bytes, 64 lower-case hex digits. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

export interface ReleaseImage {
  /** Registry and repository, no tag: `127.0.0.1:5000/shop/web`. */
  readonly image: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
}

export interface ReleaseManifest {
  readonly schemaVersion: 1 | 2;
  readonly releaseId: string;
  readonly git: { readonly sha: string; readonly ref: string };
  /** The workflow run that signed it (empty when signed outside a runner). */
  readonly runUrl: string;
  /** ISO 8601 UTC, whole seconds. */
  readonly createdAt: string;
  readonly keyId: string;
  /** The policy file, a path listed in `files`, and the sha256 of its bytes. */
  readonly policy: { readonly path: string; readonly sha256: string };
  /** Compose files in `docker compose -f` order; the digest override last. */
  readonly compose: readonly string[];
  /** Compose service name -> pinned image. */
  readonly images: Readonly<Record<string, ReleaseImage>>;
  readonly files: readonly ManifestFile[];
  /** The stack profile (schemaVersion 2; absent from a version 1 manifest). */
  readonly stack?: StackProfile;
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

export const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
const TEXT_MAX_LENGTH = 2048;

/**
 * Parses manifest.json bytes: UTF-8, JSON, canonical (re-serializing gives the same bytes), and the
 * schema below, strictly (no missing or extra member anywhere).
 */
export function parseManifest(bytes: Uint8Array | string): ReleaseManifest {
  const text = typeof bytes === 'string' ? bytes : decodeUtf8(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    throw new ManifestError(`${MANIFEST_FILE} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const manifest = validateManifest(value);
  if (canonicalJson(manifest) !== text) {
    throw new ManifestError(`${MANIFEST_FILE} is not in RFC 8785 canonical form (key order, spacing, escapes or a trailing newline)`);
  }
  return manifest;
}

/** The bytes to write and sign: canonical JSON of a manifest that passed validation. */
export function serializeManifest(manifest: ReleaseManifest): Buffer {
  return Buffer.from(canonicalJson(validateManifest(manifest)), 'utf8');
}

/** Checks a parsed value against the schema; the error names the member (`files[3].sha256`). */
export function validateManifest(value: unknown): ReleaseManifest {
  const version = (value as Record<string, unknown> | null)?.['schemaVersion'];
  if (version !== 1 && version !== MANIFEST_SCHEMA_VERSION) {
    throw new ManifestError(`schemaVersion: expected ${MANIFEST_SCHEMA_VERSION} (or 1, before stack profiles), got ${JSON.stringify(version)}`);
  }
  const root = object(value, '$', [
    'schemaVersion', 'releaseId', 'git', 'runUrl', 'createdAt', 'keyId', 'policy', 'compose', 'images', 'files', ...(version === 2 ? ['stack'] : []),
  ]);
  const releaseId = matching(root['releaseId'], 'releaseId', RELEASE_ID_PATTERN);
  const gitValue = object(root['git'], 'git', ['sha', 'ref']);
  const git = { sha: matching(gitValue['sha'], 'git.sha', GIT_SHA_PATTERN), ref: text(gitValue['ref'], 'git.ref') };
  const runUrl = text(root['runUrl'], 'runUrl');
  const createdAt = matching(root['createdAt'], 'createdAt', CREATED_AT_PATTERN);
  if (Number.isNaN(Date.parse(createdAt))) throw new ManifestError(`createdAt: "${createdAt}" is not a real date`);
  const keyId = matching(root['keyId'], 'keyId', KEY_ID_PATTERN);
  const policyValue = object(root['policy'], 'policy', ['path', 'sha256']);
  const policy = {
    path: bundlePath(policyValue['path'], 'policy.path'),
    sha256: matching(policyValue['sha256'], 'policy.sha256', SHA256_HEX_PATTERN),
  };
  const compose = array(root['compose'], 'compose').map((entry, i) => bundlePath(entry, `compose[${i}]`));
  const images = imagesOf(root['images']);
  const files = array(root['files'], 'files').map((entry, i) => fileOf(entry, `files[${i}]`));
  const base = { releaseId, git, runUrl, createdAt, keyId, policy, compose, images, files };
  checkCrossReferences({ schemaVersion: 1, ...base });
  return version === 1 ? { schemaVersion: 1, ...base } : { schemaVersion: 2, ...base, stack: stackOf(root['stack'], images) };
}

/** The manifest's stack profile; a version 1 manifest has none, and is refused with a clear error. */
export function stackProfileOf(manifest: ReleaseManifest): StackProfile {
  if (manifest.stack === undefined) {
    throw new ManifestError(
      `release ${manifest.releaseId} was signed before releases carried their stack profile (manifest schemaVersion 1): ` +
        'it does not say how its services stop, answer health checks or take a HARD_HALT. Sign that commit again (with stack.yml in its release source) and deploy the new release.',
    );
  }
  return manifest.stack;
}

function stackOf(value: unknown, images: Readonly<Record<string, ReleaseImage>>): StackProfile {
  const checked = checkStackProfile(value, Object.keys(images));
  if (!Array.isArray(checked)) return checked;
  throw new ManifestError(checked.map((p) => `stack${p.at.length > 0 ? `.${formatAt(p.at)}` : ''}: ${p.problem}`).join('; '));
}

function checkCrossReferences(manifest: ReleaseManifest): void {
  const byPath = new Map<string, ManifestFile>();
  manifest.files.forEach((file, i) => {
    const previous = manifest.files[i - 1];
    if (previous !== undefined && !(previous.path < file.path)) {
      throw new ManifestError(`files[${i}]: "${file.path}" is out of order or repeated; files are sorted by path, each once`);
    }
    if (file.path === MANIFEST_FILE || file.path === SIGNATURE_FILE) {
      throw new ManifestError(`files[${i}]: ${file.path} cannot list itself or its signature`);
    }
    byPath.set(file.path, file);
  });
  if (manifest.compose.length < 2 || manifest.compose[manifest.compose.length - 1] !== DIGEST_OVERRIDE_FILE) {
    throw new ManifestError(`compose: the last compose file must be ${DIGEST_OVERRIDE_FILE}, after at least one compose file of the release`);
  }
  if (new Set(manifest.compose).size !== manifest.compose.length) throw new ManifestError('compose: a compose file is listed twice');
  manifest.compose.forEach((path, i) => {
    if (!byPath.has(path)) throw new ManifestError(`compose[${i}]: "${path}" is not listed in files`);
  });
  const policyFile = byPath.get(manifest.policy.path);
  if (policyFile === undefined) throw new ManifestError(`policy.path: "${manifest.policy.path}" is not listed in files`);
  if (policyFile.sha256 !== manifest.policy.sha256) {
    throw new ManifestError(`policy.sha256 does not match the sha256 listed for ${manifest.policy.path} in files`);
  }
  if (Object.keys(manifest.images).length === 0) throw new ManifestError('images: no image is pinned');
}

function imagesOf(value: unknown): Record<string, ReleaseImage> {
  const entries = object(value, 'images');
  const images: Record<string, ReleaseImage> = {};
  for (const [service, entry] of Object.entries(entries)) {
    if (!SERVICE_NAME_PATTERN.test(service)) {
      throw new ManifestError(`images: "${service}" is not a service name (${SERVICE_NAME_PATTERN.source})`);
    }
    const image = object(entry, `images.${service}`, ['image', 'digest']);
    images[service] = {
      image: matching(image['image'], `images.${service}.image`, IMAGE_REPOSITORY_PATTERN),
      digest: matching(image['digest'], `images.${service}.digest`, IMAGE_DIGEST_PATTERN),
    };
  }
  return images;
}

function fileOf(value: unknown, where: string): ManifestFile {
  const file = object(value, where, ['path', 'sha256', 'size']);
  const size = file['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestError(`${where}.size: expected a whole number of bytes, got ${JSON.stringify(size)}`);
  }
  return {
    path: bundlePath(file['path'], `${where}.path`),
    sha256: matching(file['sha256'], `${where}.sha256`, SHA256_HEX_PATTERN),
    size,
  };
}

function object(value: unknown, where: string, members?: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ManifestError(`${where}: expected an object, got ${kind(value)}`);
  }
  const record = value as Record<string, unknown>;
  if (members !== undefined) {
    const missing = members.filter((m) => !Object.hasOwn(record, m));
    if (missing.length > 0) throw new ManifestError(`${where}: missing ${missing.join(', ')}`);
    const extra = Object.keys(record).filter((k) => !members.includes(k));
    if (extra.length > 0) throw new ManifestError(`${where}: unexpected member ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
  }
  return record;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ManifestError(`${where}: expected an array, got ${kind(value)}`);
  return value as unknown[];
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new ManifestError(`${where}: expected a string, got ${kind(value)}`);
  if (value.length > TEXT_MAX_LENGTH) throw new ManifestError(`${where}: longer than ${TEXT_MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new ManifestError(`${where}: holds a control character`);
  return value;
}

function matching(value: unknown, where: string, pattern: RegExp): string {
  const s = text(value, where);
  if (!pattern.test(s)) throw new ManifestError(`${where}: ${JSON.stringify(s)} does not match ${pattern.source}`);
  return s;
}

function bundlePath(value: unknown, where: string): string {
  const path = text(value, where);
  const problem = bundlePathProblem(path);
  if (problem !== undefined) throw new ManifestError(`${where}: ${JSON.stringify(path)}: ${problem}`);
  return path;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ManifestError(`${MANIFEST_FILE} is not valid UTF-8`);
  }
}
