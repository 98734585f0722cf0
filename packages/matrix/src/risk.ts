import { posix, relative, resolve, sep } from 'node:path';
import { contextIgnoreRules } from './build-context.js';
import type { DockerIgnore } from './dockerignore.js';
import type { ServicesFile } from '@titan/release/services-file';
import { readStackCompose } from '@titan/release/release-source';
import { readStackProfile } from '@titan/release/stack-profile-file';

/**
 * How risky a release is, from the paths that changed since the previous one. Weights:
 * - high: the build context or Dockerfile of a critical service (the stack profile's `critical`, e.g.
 *   the engine that talks to the exchanges), a migration, a compose file; and no previous release to
 *   compare with (fail closed);
 * - medium: any other service's build context or Dockerfile, the policy file, the config folder,
 *   the env template, services.yml itself, and any path that is not documentation or tests;
 * - low: documentation and tests only (`*.md`, `*.rst`, `*.adoc`, `docs/`, `LICENSE*`; `test/`,
 *   `tests/`, `__tests__/`, `testdata/`, `*.test.*`, `*.spec.*`, `*_test.*`), or nothing changed.
 * A path inside a build context that the context's `.dockerignore` leaves out is not a context
 * change (it never reaches the image); it is classified like any other path.
 * The level is the highest of all changed paths.
 */
export type RiskLevel = 'low' | 'medium' | 'high';

export interface ClassifiedChange {
  path: string;
  level: RiskLevel;
  area: string;
}

export interface RiskAssessment {
  level: RiskLevel;
  /** One line per area that changed, naming the paths (highest weight first). */
  reasons: string[];
  changes: ClassifiedChange[];
}

export interface RiskOptions {
  services: ServicesFile;
  /** The repository's top directory: changed paths are relative to it. */
  repoRoot: string;
  /** Changed paths (repository-relative); undefined when there is no previous release to compare with. */
  changedPaths: readonly string[] | undefined;
  /** The previous release's commit, for the reasons' wording. */
  since?: string;
  /** Services whose build inputs weigh most (default: `critical` of stack.yml beside services.yml). */
  criticalServices?: readonly string[];
}

const RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2 };
const MAX_PATHS_PER_REASON = 10;

interface Area {
  level: RiskLevel;
  label: string;
  contains(absolutePath: string): boolean;
}

export async function assessRisk(options: RiskOptions): Promise<RiskAssessment> {
  if (options.changedPaths === undefined) {
    return {
      level: 'high',
      reasons: ['high: no previous release to compare with (input since is empty): every change counts as high'],
      changes: [],
    };
  }
  const paths = [...new Set(options.changedPaths.map(normaliseChangedPath).filter((p) => p !== ''))];
  if (paths.length === 0) {
    return { level: 'low', reasons: [`low: nothing changed${options.since === undefined ? '' : ` since ${options.since}`}`], changes: [] };
  }
  const critical = options.criticalServices ?? (await readStackProfile(options.services.dir, await readStackCompose(options.services.dir, options.services.release.compose))).critical;
  const areas = await releaseAreas(options.services, critical);
  const changes = paths.map((path): ClassifiedChange => {
    const absolute = resolve(options.repoRoot, path);
    const area = areas.find((a) => a.contains(absolute));
    if (area !== undefined) return { path, level: area.level, area: area.label };
    if (isDocumentationOrTest(path)) return { path, level: 'low', area: 'documentation or tests' };
    return { path, level: 'medium', area: 'other files (not documentation or tests)' };
  });
  const level = changes.reduce<RiskLevel>((max, c) => (RANK[c.level] > RANK[max] ? c.level : max), 'low');
  return { level, reasons: reasonsFor(changes), changes };
}

async function releaseAreas(services: ServicesFile, critical: readonly string[]): Promise<Area[]> {
  const highest: Area[] = [];
  const others: Area[] = [];
  const contexts = new Map<string, { services: string[]; dockerfiles: Set<string>; ignore: DockerIgnore; critical: boolean }>();
  for (const spec of services.images) {
    let entry = contexts.get(spec.context);
    if (entry === undefined) {
      entry = { services: [], dockerfiles: new Set(), ignore: await contextIgnoreRules(spec.context, spec.dockerfile), critical: false };
      contexts.set(spec.context, entry);
    }
    entry.services.push(spec.service);
    entry.dockerfiles.add(spec.dockerfile);
    if (critical.includes(spec.service)) entry.critical = true;
  }
  for (const [context, entry] of contexts) {
    const label = entry.critical
      ? `critical build context (${entry.services.filter((s) => critical.includes(s)).join(', ')}${entry.services.length > 1 ? `; shared with ${entry.services.filter((s) => !critical.includes(s)).join(', ')}` : ''})`
      : `build context of ${entry.services.join(', ')}`;
    const area: Area = {
      level: entry.critical ? 'high' : 'medium',
      label,
      contains: (path) => entry.dockerfiles.has(path) || (isInside(path, context) && !entry.ignore.ignores(relativeTo(context, path))),
    };
    (entry.critical ? highest : others).push(area);
  }
  const release = services.release;
  const at = (path: string): string => resolve(services.dir, path);
  highest.push(directoryArea('high', 'migrations', at(release.migrations)));
  highest.push(fileArea('high', 'compose files', release.compose.map(at)));
  others.push(fileArea('medium', 'policy file', [at(release.policy)]));
  others.push(directoryArea('medium', 'config', at(release.config)));
  if (release.envTemplate !== undefined) others.push(fileArea('medium', 'env template', [at(release.envTemplate)]));
  others.push(fileArea('medium', 'services.yml', [services.path]));
  return [...highest, ...others];
}

function directoryArea(level: RiskLevel, label: string, dir: string): Area {
  return { level, label, contains: (path) => isInside(path, dir) };
}

function fileArea(level: RiskLevel, label: string, files: readonly string[]): Area {
  return { level, label, contains: (path) => files.includes(path) };
}

function reasonsFor(changes: readonly ClassifiedChange[]): string[] {
  const byArea = new Map<string, ClassifiedChange[]>();
  for (const change of changes) byArea.set(change.area, [...(byArea.get(change.area) ?? []), change]);
  return [...byArea.values()]
    .sort((a, b) => RANK[b[0]?.level ?? 'low'] - RANK[a[0]?.level ?? 'low'])
    .map((group) => {
      const first = group[0];
      const shown = group.slice(0, MAX_PATHS_PER_REASON).map((c) => c.path);
      const more = group.length > MAX_PATHS_PER_REASON ? ` and ${group.length - MAX_PATHS_PER_REASON} more` : '';
      return `${first?.level ?? 'low'}: ${first?.area ?? ''} changed: ${shown.join(', ')}${more}`;
    });
}

const DOC_FILE = /\.(?:md|markdown|rst|adoc)$/i;
const DOC_NAME = /^(?:LICENSE|LICENCE|NOTICE|AUTHORS|CODEOWNERS)(?:\.[a-z]+)?$/i;
const DOC_DIR = new Set(['docs', 'doc']);
const TEST_DIR = new Set(['test', 'tests', '__tests__', 'testdata']);
const TEST_FILE = /(?:\.(?:test|spec)\.[^/]+|_test\.[a-z0-9]+)$/i;

export function isDocumentationOrTest(path: string): boolean {
  const segments = path.split('/');
  const name = segments.at(-1) ?? '';
  const dirs = segments.slice(0, -1);
  return (
    DOC_FILE.test(name) ||
    DOC_NAME.test(name) ||
    TEST_FILE.test(name) ||
    dirs.some((d) => DOC_DIR.has(d) || TEST_DIR.has(d))
  );
}

function normaliseChangedPath(path: string): string {
  const trimmed = path.trim().replace(/\\/g, '/');
  if (trimmed === '') return '';
  return posix.normalize(trimmed).replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}

function relativeTo(dir: string, path: string): string {
  return relative(dir, path).split(sep).join('/');
}
