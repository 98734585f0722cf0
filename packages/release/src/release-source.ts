import { readFile, realpath, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { composeLocalPaths, composeServiceNames } from './compose-model.js';
import { DIGEST_OVERRIDE_FILE, MANIFEST_FILE, SIGNATURE_FILE } from './manifest.js';
import { migrationFileProblems } from './migration-files.js';
import { ReleaseSourceError } from './release-source-error.js';
import { errorCode } from './error-code.js';
import { readServicesFile, SERVICES_FILE } from './services-file.js';
import { sourceFile, sourceFolder, type SourceFile } from './source-tree.js';
import { servicePortsOf } from './service-ports.js';
import { readStackProfile, type StackCompose } from './stack-profile-file.js';
import type { StackProfile } from './stack-profile.js';

/**
 * A release source: services.yml and the files it names (see examples/titan). services.yml says
 * where the compose files, the policy, the config and migrations folders are (paths relative to
 * it) and which image each compose service runs. Reading it checks everything sign relies on, so a
 * bad source fails here, naming the file and the fix, before anything is written.
 */
export { SERVICES_FILE };

export interface ReleaseSourceImage {
  /** Compose service name; also the name of its digest file. */
  readonly service: string;
  /** Repository below the registry (`web-server`). */
  readonly image: string;
}

export interface ReleaseSource {
  /** Absolute, symbolic links resolved. */
  readonly dir: string;
  /** services.yml's registry, when it names one (sign's registry input may name it instead). */
  readonly registry?: string;
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
  const spec = await readServicesFile(join(dir, SERVICES_FILE), SERVICES_FILE);
  const { compose, policy, config, migrations } = spec.release;
  const composeFiles = await Promise.all(compose.map((path) => sourceFile(dir, path)));
  const configFiles = await sourceFolder(dir, config);
  const migrationFiles = await sourceFolder(dir, migrations);
  if (!configFiles.some((f) => f.path === policy)) await sourceFile(dir, policy);
  checkMigrations(migrations, migrationFiles);

  const files = new Map<string, SourceFile>();
  for (const file of [...composeFiles, ...configFiles, ...migrationFiles]) {
    checkReserved(file.path);
    files.set(file.path, file);
  }
  const { services: composeServices, documents } = await checkComposeFiles(dir, compose, new Set(files.keys()));
  const stack = await readStackProfile(dir, { services: composeServices, ports: servicePortsOf(documents) });
  return {
    dir,
    ...(spec.registry === undefined ? {} : { registry: spec.registry }),
    compose,
    policy,
    config,
    migrations,
    images: spec.images.map(({ service, image }) => ({ service, image })),
    composeServices,
    files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    stack,
  };
}

/** The migrations folder's files, by the one migration-file rule: every problem at once. */
function checkMigrations(folder: string, files: readonly SourceFile[]): void {
  const entries = new Map<string, boolean>();
  for (const file of files) {
    const [name = '', ...below] = file.path.slice(folder.length + 1).split('/');
    entries.set(name, below.length === 0);
  }
  const problems = migrationFileProblems([...entries].map(([name, isFile]) => ({ name, isFile })));
  if (problems.length > 0) {
    throw new ReleaseSourceError(folder, `has ${problems.length} problem(s):\n${problems.map((p) => `${folder}/${p.name}: ${p.message}. ${p.fix}`).join('\n')}`);
  }
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
async function checkComposeFiles(dir: string, compose: readonly string[], shipped: ReadonlySet<string>): Promise<{ services: string[]; documents: unknown[] }> {
  const projectDir = posix.dirname(compose[0] ?? '.');
  const services = new Set<string>();
  const documents: unknown[] = [];
  for (const path of compose) {
    const document = await readYaml(dir, path);
    documents.push(document);
    for (const service of composeServiceNames(document)) services.add(service);
    for (const local of composeLocalPaths(document)) {
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
  return { services: [...services].sort(), documents };
}

/** What stack.yml is checked against, from the compose files (relative to `dir`, in -f order): their services and ports. */
export async function readStackCompose(dir: string, compose: readonly string[]): Promise<StackCompose> {
  const documents = await Promise.all(compose.map((path) => readYaml(dir, path)));
  return { services: [...new Set(documents.flatMap(composeServiceNames))].sort(), ports: servicePortsOf(documents) };
}

function checkReserved(path: string): void {
  if (RESERVED_PATHS.has(path)) {
    throw new ReleaseSourceError(path, `this name is reserved for what sign writes into the bundle (${[...RESERVED_PATHS].join(', ')}); rename the file`);
  }
}
