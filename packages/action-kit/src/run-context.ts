/**
 * What the runner says about the run itself (GITHUB_* variables), for journals, lock holders,
 * deployments and manifests. Outside a runner these are empty or `unknown`, never an error.
 */
export interface RunContext {
  /** GITHUB_ACTOR, or `unknown`. */
  readonly actor: string;
  /** This run's URL (with its attempt when it is a re-run), or empty outside a runner. */
  readonly runUrl: string;
}

export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  return { actor: nonEmpty(env['GITHUB_ACTOR']) ?? 'unknown', runUrl: runUrl(env) };
}

export function runUrl(env: NodeJS.ProcessEnv = process.env): string {
  const server = nonEmpty(env['GITHUB_SERVER_URL']);
  const repository = nonEmpty(env['GITHUB_REPOSITORY']);
  const runId = nonEmpty(env['GITHUB_RUN_ID']);
  if (server === undefined || repository === undefined || runId === undefined) return '';
  const attempt = nonEmpty(env['GITHUB_RUN_ATTEMPT']);
  return `${server}/${repository}/actions/runs/${runId}${attempt !== undefined && attempt !== '1' ? `/attempts/${attempt}` : ''}`;
}

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
