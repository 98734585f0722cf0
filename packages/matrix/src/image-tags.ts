import { MatrixInputError } from './matrix-input-error.js';

/** A full commit sha: 40 lowercase hex characters. */
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

export interface TagContext {
  /** The commit being built. */
  sha: string;
  /** The git ref of the run (`refs/heads/main`, `refs/pull/7/merge`, `refs/tags/v1`). */
  ref: string;
  /** The repository's default branch name (`main`). */
  defaultBranch: string;
}

/**
 * The tags every built image gets: `sha-<full sha>` always, and `latest` only when the run is on
 * the default branch (a push to it, not a pull request, a tag or another branch).
 */
export function imageTags(context: TagContext): string[] {
  if (!COMMIT_SHA.test(context.sha)) {
    throw new MatrixInputError('sha', `"${context.sha}" is not a full commit sha: give the 40-character hex sha of the commit being built`);
  }
  if (context.defaultBranch === '' || /[\s~^:?*[\\]/.test(context.defaultBranch)) {
    throw new MatrixInputError('default-branch', `"${context.defaultBranch}" is not a branch name`);
  }
  const tags = [`sha-${context.sha}`];
  if (isDefaultBranch(context.ref, context.defaultBranch)) tags.push('latest');
  return tags;
}

export function isDefaultBranch(ref: string, defaultBranch: string): boolean {
  return ref === `refs/heads/${defaultBranch}`;
}
