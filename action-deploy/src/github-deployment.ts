/**
 * The deploy as one GitHub deployment: created when the deploy starts (ref = the release's commit,
 * the environment input, auto_merge off, no required contexts), then statuses in_progress and
 * success or failure (a cancelled, failed or rolled-back deploy is a failure: never left
 * in_progress), each with the run's URL as log_url. A GitHub API failure is a warning: it never
 * stops or fails a deploy.
 */
import * as github from '@actions/github';
import type { Logger } from '@titan/log/logger';

export interface DeploymentTarget {
  readonly token: string;
  readonly environment: string;
  readonly environmentUrl: string | undefined;
  readonly runUrl: string;
  readonly ref: string;
  readonly releaseId: string;
  readonly host: string;
}

export interface GitHubDeployment {
  finish(state: 'success' | 'failure', description: string): Promise<void>;
}

export async function startGitHubDeployment(target: DeploymentTarget, logger: Logger): Promise<GitHubDeployment | undefined> {
  const { owner, repo } = github.context.repo;
  const octokit = github.getOctokit(target.token);
  let id: number;
  try {
    const created = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: target.ref,
      environment: target.environment,
      auto_merge: false,
      required_contexts: [],
      description: `Titan release ${target.releaseId} to ${target.host}`,
      payload: { releaseId: target.releaseId, host: target.host },
      production_environment: target.environment === 'production',
    });
    if (!('id' in created.data)) {
      logger.warning(`GitHub did not create a deployment: ${created.data.message ?? 'no reason given'}`);
      return undefined;
    }
    id = created.data.id;
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: id, state: 'in_progress', log_url: target.runUrl, ...url(target) });
    logger.info(`GitHub deployment ${id} (${target.environment}) is in progress.`);
  } catch (error: unknown) {
    logger.warning(`Could not record a GitHub deployment (the deploy goes on): ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  return {
    async finish(state, description) {
      try {
        await octokit.rest.repos.createDeploymentStatus({
          owner,
          repo,
          deployment_id: id,
          state,
          log_url: target.runUrl,
          description: description.slice(0, 140),
          ...url(target),
          // A cancelled run has seconds left: a slow API must not keep it from finishing.
          request: { signal: AbortSignal.timeout(5000) },
        });
      } catch (error: unknown) {
        logger.warning(`Could not record the GitHub deployment status ${state}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
}

function url(target: DeploymentTarget): { environment_url?: string } {
  return target.environmentUrl !== undefined ? { environment_url: target.environmentUrl } : {};
}
