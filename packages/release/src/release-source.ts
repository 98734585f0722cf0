import { readFile, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { bundlePathProblem } from './bundle-path.js';
import { composeReferences } from './compose-references.js';
import { IMAGE_NAME_PATTERN, REGISTRY_PATTERN, SERVICE_NAME_PATTERN } from './image-reference.js';
import { DIGEST_OVERRIDE_FILE, MANIFEST_FILE, SIGNATURE_FILE } from './manifest.js';
import { migrationProblem } from './migration-files.js';
import { ReleaseSourceError } from './release-source-error.js';
import { errorCode } from './error-code.js';
import { sourceFile, sourceFolder, type SourceFile } from './source-tree.js';
import { readStackProfile } from './stack-profile-file.js';
import type { StackProfile } from './stack-profile.js';

/**
 * A release source: services.yml and the files it names (see examples/titan). services.yml says
 * where the compose files, the policy, the config and migrations folders are (paths relative to
 * it) and which image each compose service runs. Reading it checks everything sign relies on, so a
 * bad source fails here, naming the file and the fix, before anything is written.
 */
export const SERVICES_FILE = 'services.yml';

export interface ReleaseSourceImage {
  /** Compose service name; also the name of its digest file. */
  readonly service: string;
  /** Repository below the registry (`web-server`). */
  readonly image: string;
}

export interface ReleaseSource {
  /** Absolute, symbolic links resolved. */
  readonly dir: string;
  readonly registry: string;
  /** Compose files in `docker compose -f` order, relative to the source folder. */
  readonly compose: readonly string[];
  /** The policy file, inside the config folder. */
  readonly policy: string;
  readonly config: string;
  readonly migrations: string;
  /** services.yml's images, in its order. */
  readonly images: readonly ReleaseSourceImage[];
  /** Every service any compose file defines, sorted. */
  readonly composeServices: readonly string[];
  /** What the bundle ships from the source: compose files, config and migrations, sorted by path. */
  readonly files: readonly SourceFile[];
  /** stack.yml, checked against the compose services: signed into the manifest. */
  readonly stack: StackProfile;
}

const RESERVED_PATHS = new Set([MANIFEST_FILE, SIGNATURE_FILE, DIGEST_OVERRIDE_FILE]);

export async function readReleaseSource(folder: string): Promise<ReleaseSource> {
  const dir = await sourceRoot(folder);
  const spec = record(await readYaml(dir, SERVICES_FILE), SERVICES_FILE, 'the file');
  const registry = stringAt(spec, 'registry', SERVICES_FILE);
  if (!REGISTRY_PATTERN.test(registry)) {
    throw new ReleaseSourceError(SERVICES_FILE, `registry "${registry}" is not a registry host[:port][/path] (e.g. 127.0.0.1:5000/titan)`);
  }
  const release = record(spec['release'], SERVICES_FILE, 'release');
  const composeList = release['compose'];
  if (!Array.isArray(composeList) || composeList.length === 0 || !composeList.every((c) => typeof c === 'string')) {
    throw new ReleaseSourceError(SERVICES_FILE, 'release.compose must be a list of compose file paths, e.g. [docker-compose.yml, docker-compose.prod.yml]');
  }
  const compose: string[] = composeList;
  const policy = stringAt(release, 'policy', SERVICES_FILE, 'release.');
  const config = stringAt(release, 'config', SERVICES_FILE, 'release.');
  const migrations = stringAt(release, 'migrations', SERVICES_FILE, 'release.');
  const images = imagesOf(spec['images']);

  const named: [string, string][] = [...compose.map((c, i): [string, string] => [`release.compose[${i}]`, c]), ['release.policy', policy], ['release.config', config], ['release.migrations', migrations]];
  for (const [key, path] of named) {
    const problem = bundlePathProblem(path);
    if (problem !== undefined) {
      throw new ReleaseSourceError(SERVICES_FILE, `${key} "${path}" is not a safe path inside the source folder: ${problem}`);
    }
    checkReserved(path);
  }
  if (new Set(compose).size !== compose.length) throw new ReleaseSourceError(SERVICES_FILE, 'release.compose lists a file twice');
  if (!policy.startsWith(`${config}/`)) {
    throw new ReleaseSourceError(SERVICES_FILE, `release.policy (${policy}) must be inside the config folder (${config}/), which the bundle ships`);
  }

  const composeFiles = await Promise.all(compose.map((path) => sourceFile(dir, path)));
  const configFiles = await sourceFolder(dir, config);
  const migrationFiles = await sourceFolder(dir, migrations);
  if (!configFiles.some((f) => f.path === policy)) await sourceFile(dir, policy);
  const migrationError = migrationProblem(migrations, migrationFiles.map((f) => f.path));
  if (migrationError !== undefined) throw new ReleaseSourceError(migrationError.path, migrationError.problem);

  const files = new Map<string, SourceFile>();
  for (const file of [...composeFiles, ...configFiles, ...migrationFiles]) {
    checkReserved(file.path);
    files.set(file.path, file);
  }
  const composeServices = await checkComposeFiles(dir, compose, new Set(files.keys()));
  const stack = await readStackProfile(dir, composeServices);
  return {
    dir,
    registry,
    compose,
    policy,
    config,
    migrations,
    images,
    composeServices,
    files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    stack,
  };
}

async function sourceRoot(folder: string): Promise<string> {
  try {
    const dir = await realpath(folder);
    if (!(await stat(dir)).isDirectory()) throw new ReleaseSourceError(folder, 'is not a folder; give the folder that holds services.yml');
    return dir;
  } catch (error: unknown) {
    if (error instanceof ReleaseSourceError) throw error;
    throw new ReleaseSourceError(folder, `the release source folder cannot be read (${errorCode(error)})`, { cause: error });
  }
}

/** Parses a YAML file of the source; syntax errors carry the line and column. */
async function readYaml(dir: string, path: string): Promise<unknown> {
  const file = await sourceFile(dir, path);
  let text: string;
  try {
    text = await readFile(file.absolutePath, 'utf8');
  } catch (error: unknown) {
    throw new ReleaseSourceError(path, `cannot be read (${errorCode(error)})`, { cause: error });
  }
  try {
    return parse(text, { uniqueKeys: true, merge: true, prettyErrors: true });
  } catch (error: unknown) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0] === undefined ? '' : ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}`;
      throw new ReleaseSourceError(path, `is not valid YAML${where}: ${error.message.split('\n')[0] ?? ''}`, { cause: error });
    }
    throw error;
  }
}

/** Services defined by the compose files; every relative file they use must be shipped. */
async function checkComposeFiles(dir: string, compose: readonly string[], shipped: ReadonlySet<string>): Promise<string[]> {
  const projectDir = posix.dirname(compose[0] ?? '.');
  const services = new Set<string>();
  for (const path of compose) {
    const references = composeReferences(await readYaml(dir, path));
    for (const service of references.services) services.add(service);
    for (const local of references.localPaths) {
      const resolved = local.path === undefined ? undefined : posix.normalize(posix.join(projectDir, local.path));
      const isShipped =
        resolved !== undefined && (shipped.has(resolved) || [...shipped].some((f) => resolved === '.' || f.startsWith(`${resolved}/`)));
      if (!isShipped) {
        throw new ReleaseSourceError(
          path,
          `service ${local.service} uses ${local.written}, which the release does not ship; ` +
            'keep files a service mounts inside the config folder (or the migrations folder) named in services.yml',
        );
      }
    }
  }
  if (services.size === 0) throw new ReleaseSourceError(compose[0] ?? SERVICES_FILE, 'defines no services');
  return [...services].sort();
}

function imagesOf(value: unknown): ReleaseSourceImage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ReleaseSourceError(SERVICES_FILE, 'images must be a non-empty list of { service, image, context, dockerfile }');
  }
  const seen = new Set<string>();
  return (value as unknown[]).map((entry, i) => {
    const item = record(entry, SERVICES_FILE, `images[${i}]`);
    const service = stringAt(item, 'service', SERVICES_FILE, `images[${i}].`);
    const image = stringAt(item, 'image', SERVICES_FILE, `images[${i}].`);
    if (!SERVICE_NAME_PATTERN.test(service)) {
      throw new ReleaseSourceError(SERVICES_FILE, `images[${i}].service "${service}" is not a compose service name (${SERVICE_NAME_PATTERN.source})`);
    }
    if (!IMAGE_NAME_PATTERN.test(image)) {
      throw new ReleaseSourceError(
        SERVICES_FILE,
        `images[${i}].image "${image}" (service ${service}) is not a repository name below the registry: lower-case, no tag, no digest`,
      );
    }
    if (seen.has(service)) throw new ReleaseSourceError(SERVICES_FILE, `images lists service ${service} twice`);
    seen.add(service);
    return { service, image };
  });
}

function checkReserved(path: string): void {
  if (RESERVED_PATHS.has(path)) {
    throw new ReleaseSourceError(path, `this name is reserved for what sign writes into the bundle (${[...RESERVED_PATHS].join(', ')}); rename the file`);
  }
}

function record(value: unknown, file: string, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ReleaseSourceError(file, `${where} must be a mapping`);
  }
  return value as Record<string, unknown>;
}

function stringAt(value: Record<string, unknown>, key: string, file: string, prefix = ''): string {
  const found = value[key];
  if (typeof found !== 'string' || found === '') throw new ReleaseSourceError(file, `${prefix}${key} must be a non-empty string`);
  return found;
}
