import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { InputReader } from '@titan/action-kit/inputs';
import { POSTURES, type Posture } from '@titan/gatekeeper/production-values';
import { RequiredValuesError, resolveRequiredValues } from '@titan/gatekeeper/required-values';

/** Everything the gate step needs, read once from its inputs and the runner's environment. */
export interface GatekeeperSettings {
  /** The release source folder. */
  source: string;
  composeFiles: string[] | undefined;
  envFile: string | undefined;
  /** Secret dotenv text (masked as it is read). */
  values: string | undefined;
  /** The required input's lines (NAME, +NAME, -NAME), applied to services.yml's values.required by the gate. */
  required: string[];
  previousManifest: string | undefined;
  ci: CiSettings | undefined;
  warnOnly: boolean;
  /** production or staging (production-values.ts). */
  posture: Posture;
  /** Files in findings are named relative to this folder (GITHUB_WORKSPACE), so annotations land. */
  workspace: string;
}

export interface CiSettings {
  token: string;
  owner: string;
  repo: string;
  sha: string;
  runId: string | undefined;
}

/** The source's default when the runner did not fill it in from action.yml (a local run). */
export const DEFAULT_SOURCE = 'examples/titan';

export function readSettings(reader: InputReader = new InputReader(), env: NodeJS.ProcessEnv = process.env): GatekeeperSettings {
  const envFile = reader.optional('env-file');
  let values = reader.secret('values');
  if (envFile === undefined && values === undefined) {
    values = reader.secret('values', { required: true, hint: 'or env-file' });
  }
  const required = reader.lines('required');
  try {
    resolveRequiredValues(required, []);
  } catch (error: unknown) {
    if (error instanceof RequiredValuesError) throw new ConfigurationError(`Input "required": ${error.message}`, { input: 'required', cause: error });
    throw error;
  }
  const composeFiles = reader.lines('compose-files');
  return {
    source: reader.optional('source', DEFAULT_SOURCE),
    composeFiles: composeFiles.length > 0 ? composeFiles : undefined,
    envFile,
    values,
    required,
    previousManifest: reader.optional('previous-manifest'),
    ci: readCiSettings(reader, env),
    warnOnly: reader.boolean('warn-only', false),
    posture: reader.choice('posture', POSTURES, 'production'),
    workspace: env['GITHUB_WORKSPACE'] || process.cwd(),
  };
}

function readCiSettings(reader: InputReader, env: NodeJS.ProcessEnv): CiSettings | undefined {
  const token = reader.secret('github-token');
  const sha = reader.optional('sha') ?? (env['GITHUB_SHA'] || undefined);
  if (token === undefined) return undefined;
  if (sha === undefined) {
    throw new ConfigurationError('Input required and not supplied: sha (no GITHUB_SHA either: name the commit whose CI must be green)', { input: 'sha' });
  }
  if (!/^[0-9a-f]{40}$/.test(sha)) {
    throw new ConfigurationError(`Input sha must be a full 40-hex commit sha, got "${sha}"`, { input: 'sha' });
  }
  const repository = env['GITHUB_REPOSITORY'] ?? '';
  const [owner, repo, ...rest] = repository.split('/');
  if (owner === undefined || owner === '' || repo === undefined || repo === '' || rest.length > 0) {
    throw new ConfigurationError(
      `GITHUB_REPOSITORY is ${repository === '' ? 'not set' : `"${repository}"`}: the CI check needs owner/repo; run on a GitHub runner, or set github-token to '' to skip the CI check`,
      { input: 'github-token' },
    );
  }
  return { token, owner, repo, sha, runId: env['GITHUB_RUN_ID'] || undefined };
}
