import { readFileSync } from 'node:fs';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { InputReader } from '@titan/action-kit/inputs';
import { COMMIT_SHA } from '@titan/matrix/image-tags';
import { MatrixInputError } from '@titan/matrix/matrix-input-error';
import { normalisePlatforms } from '@titan/matrix/platform';
import { registryProblem } from '@titan/release/image-reference';

/** Where digests of built images are remembered. */
export type CacheSetting = { kind: 'actions' } | { kind: 'directory'; dir: string } | { kind: 'none' };

interface CommonSettings {
  servicesFile: string;
  /** The registry input; undefined means services.yml's. */
  registry?: string;
  cache: CacheSetting;
  platform?: string;
}

export interface PlanSettings extends CommonSettings {
  mode: 'plan';
  sha: string;
  ref: string;
  defaultBranch: string;
  since?: string;
  /** Changed paths the caller computed (undefined: not given). */
  changedFiles?: string[];
}

export interface RecordSettings extends CommonSettings {
  mode: 'record';
  digests: string;
  /** The plan's matrix JSON, when given. */
  matrix?: string;
}

export type Settings = PlanSettings | RecordSettings;

export const DEFAULT_SERVICES_FILE = 'examples/titan/services.yml';

/**
 * The one reader of the action's inputs (and of the runner's GITHUB_* defaults). Outside GitHub
 * Actions nothing supplies the commit, so `sha` is the input a bare run (mode plan) is missing.
 * `record` needs no commit: it recomputes the build keys of the checkout it runs in.
 */
export function readSettings(reader = new InputReader(), env: NodeJS.ProcessEnv = process.env): Settings {
  const mode = reader.choice('mode', ['plan', 'record'] as const, 'plan');
  const registry = reader.optional('registry');
  if (registry !== undefined) {
    const reason = registryProblem(registry);
    if (reason !== undefined) throw new ConfigurationError(`Input registry is not valid: ${reason}`, { input: 'registry' });
  }
  const common: CommonSettings = {
    servicesFile: reader.optional('services-file', DEFAULT_SERVICES_FILE),
    cache: cacheSetting(reader.optional('cache'), env),
  };
  if (registry !== undefined) common.registry = registry;
  const platform = platformSetting(reader.optional('platform'));
  if (platform !== undefined) common.platform = platform;

  if (mode === 'record') {
    const digests = reader.required('digests', 'the folder the build legs\' digest files were downloaded into');
    if (common.cache.kind === 'none') {
      throw new ConfigurationError('Input cache is none (or unset outside GitHub Actions): record needs a cache to file digests in; set cache to actions or a directory', { input: 'cache' });
    }
    const settings: RecordSettings = { ...common, mode, digests };
    const matrix = reader.optional('matrix');
    if (matrix !== undefined) settings.matrix = matrix;
    return settings;
  }
  const sha = reader.optional('sha') ?? nonEmpty(env['GITHUB_SHA']) ?? reader.required('sha', 'defaults to GITHUB_SHA, which only a GitHub Actions runner sets');
  if (!COMMIT_SHA.test(sha)) {
    throw new ConfigurationError(`Input sha must be the full 40-character lowercase hex commit sha, got "${sha}"`, { input: 'sha' });
  }
  const ref = reader.optional('ref') ?? nonEmpty(env['GITHUB_REF']) ?? reader.required('ref', 'defaults to GITHUB_REF; give refs/heads/<branch>');
  const defaultBranch = reader.optional('default-branch') ?? eventDefaultBranch(env) ?? 'main';
  const settings: PlanSettings = { ...common, mode, sha, ref, defaultBranch };
  const since = reader.optional('since');
  const changedFiles = reader.optional('changed-files');
  if (since !== undefined && changedFiles !== undefined) {
    throw new ConfigurationError('Inputs since and changed-files are both set: give one (since: the previous release\'s sha; changed-files: paths you computed)', { input: 'changed-files' });
  }
  if (since !== undefined) settings.since = since;
  if (changedFiles !== undefined) settings.changedFiles = reader.lines('changed-files');
  return settings;
}

function cacheSetting(value: string | undefined, env: NodeJS.ProcessEnv): CacheSetting {
  if (value === undefined) return nonEmpty(env['ACTIONS_RUNTIME_TOKEN']) === undefined ? { kind: 'none' } : { kind: 'actions' };
  if (value === 'actions') {
    if (nonEmpty(env['ACTIONS_RUNTIME_TOKEN']) === undefined) {
      throw new ConfigurationError('Input cache is actions, but this runner offers no Actions cache (ACTIONS_RUNTIME_TOKEN is not set): give a directory path instead', { input: 'cache' });
    }
    return { kind: 'actions' };
  }
  if (value === 'none') return { kind: 'none' };
  return { kind: 'directory', dir: value };
}

function platformSetting(value: string | undefined): string | undefined {
  try {
    return normalisePlatforms(value);
  } catch (error: unknown) {
    if (error instanceof MatrixInputError) throw new ConfigurationError(`Input platform: ${error.message}`, { input: 'platform', cause: error });
    throw error;
  }
}

/** repository.default_branch of the event that started the run, when there is one. */
function eventDefaultBranch(env: NodeJS.ProcessEnv): string | undefined {
  const path = nonEmpty(env['GITHUB_EVENT_PATH']);
  if (path === undefined) return undefined;
  try {
    const event = JSON.parse(readFileSync(path, 'utf8')) as { repository?: { default_branch?: unknown } };
    const branch = event.repository?.default_branch;
    return typeof branch === 'string' && branch !== '' ? branch : undefined;
  } catch {
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
