import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import type { DisplayPaths } from './display-path.js';
import type { Finding } from './finding.js';

/**
 * Every Node service the release builds has a lockfile in sync with its package.json, as `npm ci`
 * in its Docker build demands (it refuses to install otherwise, and the build fails on the runner,
 * or worse, a hand-built image drifts from what was reviewed). A service is a Node service when its
 * build context (services.yml `context`) holds a package.json. In sync means, as npm ci checks it:
 * a package-lock.json (or npm-shrinkwrap.json) is there and parses; the lock's root package lists
 * every dependency of package.json (dependencies, devDependencies, optionalDependencies,
 * peerDependencies) with the same spec, and installs it; and each dependency's locked version
 * satisfies the range package.json asks for. A lockfile that still lists a dependency package.json
 * dropped is accepted by npm ci (it installs it anyway): a warning.
 */
export interface NodeServiceContext {
  /** The build context folder (absolute). */
  readonly dir: string;
  /** Services built from it, for messages. */
  readonly services: readonly string[];
}

const CHECK = 'lockfiles';
const KINDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;
const LOCKFILES = ['npm-shrinkwrap.json', 'package-lock.json'];

export async function checkLockfiles(contexts: readonly NodeServiceContext[], paths: DisplayPaths): Promise<{ findings: Finding[]; nodeServices: number }> {
  const findings: Finding[] = [];
  let nodeServices = 0;
  for (const context of contexts) {
    const manifestPath = join(context.dir, 'package.json');
    if (!(await isFile(manifestPath))) continue;
    nodeServices += 1;
    findings.push(...(await checkContext(context, manifestPath, paths)));
  }
  return { findings, nodeServices };
}

async function checkContext(context: NodeServiceContext, manifestPath: string, paths: DisplayPaths): Promise<Finding[]> {
  const who = context.services.join(', ');
  const folder = paths.of(context.dir);
  const fixInstall = `Run \`npm install\` in ${folder} and commit the package-lock.json it writes`;
  const manifest = await readJson(manifestPath);
  if (typeof manifest === 'string') return [finding(paths.of(manifestPath), `package.json of ${who} ${manifest}`, 'Fix the JSON')];
  let lockPath: string | undefined;
  for (const name of LOCKFILES) {
    if (await isFile(join(context.dir, name))) {
      lockPath = join(context.dir, name);
      break;
    }
  }
  if (lockPath === undefined) {
    return [finding(paths.of(manifestPath), `${who} has a package.json but no package-lock.json: \`npm ci\` in its Docker build refuses to install without one`, fixInstall)];
  }
  const lockFile = paths.of(lockPath);
  const lock = await readJson(lockPath);
  if (typeof lock === 'string') return [finding(lockFile, `the lockfile of ${who} ${lock}`, fixInstall)];
  const version = lock['lockfileVersion'];
  if (typeof version !== 'number' || version < 1) return [finding(lockFile, `the lockfile of ${who} has no lockfileVersion; npm ci cannot read it`, fixInstall)];

  const wanted = dependencySpecs(manifest);
  const packages = record(lock['packages']);
  const lockedRoot = version >= 2 ? dependencySpecs(record(packages[''])) : undefined;
  const problems: string[] = [];
  const stale: string[] = [];
  if (lockedRoot !== undefined) {
    for (const [name, spec] of wanted) {
      const locked = lockedRoot.get(name);
      if (locked === undefined) problems.push(`${name}@${spec} is in package.json but not in the lockfile`);
      else if (locked !== spec) problems.push(`package.json asks for ${name}@${spec}, the lockfile was made for ${name}@${locked}`);
    }
    for (const [name, spec] of lockedRoot) {
      if (!wanted.has(name)) stale.push(`the lockfile still lists ${name}@${spec}, which package.json no longer has`);
    }
  }
  for (const [name, spec] of wanted) {
    const entry = version >= 2 ? packages[`node_modules/${name}`] : record(lock['dependencies'])[name];
    if (entry === undefined) {
      if (lockedRoot === undefined || lockedRoot.has(name)) problems.push(`${name} is not installed by the lockfile (no node_modules/${name} entry)`);
      continue;
    }
    const lockedVersion = stringOf(record(entry)['version']);
    const range = semver.validRange(spec);
    if (lockedVersion !== undefined && range !== null && semver.valid(lockedVersion) !== null && !semver.satisfies(lockedVersion, range, { includePrerelease: true })) {
      problems.push(`the lockfile's ${name}@${lockedVersion} does not satisfy ${name}@${spec} from package.json`);
    }
  }
  const findings: Finding[] = [];
  if (problems.length > 0) {
    findings.push(finding(lockFile, `package-lock.json of ${who} is out of sync with its package.json, so \`npm ci\` in its Docker build would refuse it: ${problems.join('; ')}`, fixInstall));
  }
  if (stale.length > 0) {
    findings.push({
      ...finding(lockFile, `package-lock.json of ${who} is stale (\`npm ci\` accepts it, and installs what package.json no longer asks for): ${stale.join('; ')}`, fixInstall),
      severity: 'warning',
    });
  }
  return findings;
}

function dependencySpecs(manifest: Record<string, unknown>): Map<string, string> {
  const specs = new Map<string, string>();
  for (const kind of KINDS) {
    for (const [name, spec] of Object.entries(record(manifest[kind]))) {
      if (typeof spec === 'string') specs.set(name, spec);
    }
  }
  return specs;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

async function readJson(path: string): Promise<Record<string, unknown> | string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    return `cannot be read (${error instanceof Error && 'code' in error ? String(error.code) : 'unreadable'})`;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'is not a JSON object';
    return value as Record<string, unknown>;
  } catch (error: unknown) {
    return `is not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

function finding(file: string, message: string, fix: string): Finding {
  return { check: CHECK, severity: 'error', file, line: null, message, fix };
}
