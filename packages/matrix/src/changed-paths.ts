import { getExecOutput } from '@actions/exec';
import { COMMIT_SHA } from './image-tags.js';
import { MatrixInputError } from './matrix-input-error.js';

/** A commit sha, full or abbreviated (at least 7 hex characters). */
const COMMIT = /^[0-9a-f]{7,40}$/;

export interface ChangedPaths {
  /** The repository's top directory; paths are relative to it. */
  repoRoot: string;
  paths: string[];
}

/** The top directory of the git checkout holding `dir`. */
export async function gitRepoRoot(dir: string): Promise<string> {
  try {
    return (await git(dir, ['rev-parse', '--show-toplevel'])).trim();
  } catch (error: unknown) {
    throw new MatrixInputError('since', `${dir} is not inside a git checkout, so nothing can be compared with the previous release: check the repository out (actions/checkout) or pass changed-files`, [], { cause: error });
  }
}

/**
 * The paths that differ between the previous release's commit and this one
 * (`git diff --name-only --no-renames -z <since> <sha>`, run without a shell: a rename counts as
 * both its old and its new path).
 */
export async function changedPathsSince(options: { dir: string; since: string; sha: string }): Promise<ChangedPaths> {
  if (!COMMIT.test(options.since)) {
    throw new MatrixInputError('since', `"${options.since}" is not a commit sha: give the previous release's git sha (7 to 40 lowercase hex characters)`);
  }
  if (!COMMIT_SHA.test(options.sha)) {
    throw new MatrixInputError('sha', `"${options.sha}" is not a full commit sha (40 lowercase hex characters)`);
  }
  const repoRoot = await gitRepoRoot(options.dir);
  for (const [input, commit] of [['since', options.since], ['sha', options.sha]] as const) {
    try {
      await git(repoRoot, ['cat-file', '-e', `${commit}^{commit}`]);
    } catch (error: unknown) {
      throw new MatrixInputError(
        input,
        `commit ${commit} (input ${input}) is not in this clone of ${repoRoot}: check out with fetch-depth: 0 (actions/checkout) so the previous release's commit is there, or pass changed-files`,
        [],
        { cause: error },
      );
    }
  }
  const output = await git(repoRoot, ['diff', '--name-only', '--no-renames', '-z', options.since, options.sha, '--']);
  const paths = output.split('\0').filter((p) => p !== '');
  return { repoRoot, paths };
}

/** git on the runner, through @actions/exec (no shell, arguments passed as they are, nothing echoed). */
async function git(cwd: string, args: string[]): Promise<string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const { exitCode, stdout, stderr } = await getExecOutput('git', args, { cwd, silent: true, ignoreReturnCode: true, env: { ...env, GIT_TERMINAL_PROMPT: '0' } });
  if (exitCode !== 0) throw new Error(`git ${args[0] ?? ''} exited with ${exitCode}: ${stderr.trim()}`);
  return stdout;
}
