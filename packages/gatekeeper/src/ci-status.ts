import type { getOctokit } from '@actions/github';
import type { Logger } from '@titan/log/logger';
import type { Finding } from './finding.js';

/**
 * Is CI green for the commit being deployed? Reads every check run (`checks.listForRef`, all pages)
 * and every commit status (`repos.getCombinedStatusForRef`) of the commit through the GitHub REST
 * API.
 *
 * - A check run still queued, waiting or in progress, or a pending status: not ready.
 * - failure, cancelled, timed_out, action_required, stale, startup_failure (or a status in failure
 *   or error): CI is red.
 * - success, neutral, skipped: fine. A re-run replaces the earlier run of the same check (the
 *   newest check run per app and name counts), as on GitHub's own checks page.
 * - The workflow run this gate runs in is left out: its check runs carry the run's id in their
 *   details/html URL (`.../actions/runs/<GITHUB_RUN_ID>/job/<id>`). While they are queued or in
 *   progress they are this very job and the jobs waiting for it; one of them that already failed
 *   still counts.
 * - A commit with no check run and no status at all (other than this run's) is not known green.
 */
export type GitHubClient = Pick<ReturnType<typeof getOctokit>, 'paginate' | 'rest'>;

export interface CiStatusInput {
  client: GitHubClient;
  owner: string;
  repo: string;
  sha: string;
  /** GITHUB_RUN_ID of the workflow run the gate runs in. */
  runId?: string | undefined;
  logger?: Logger;
}

interface CheckRunLike {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  details_url?: string | null;
  html_url?: string | null;
  app?: { slug?: string } | null;
}

const CHECK = 'ci';
const PASSING = new Set(['success', 'neutral', 'skipped']);
const FAILING = new Set(['failure', 'cancelled', 'timed_out', 'action_required', 'stale', 'startup_failure']);

export async function checkCiStatus(input: CiStatusInput): Promise<Finding[]> {
  const { client, owner, repo, sha } = input;
  const short = sha.slice(0, 7);
  let checkRuns: CheckRunLike[];
  let statuses: { context: string; state: string; description?: string | null; target_url?: string | null }[];
  try {
    checkRuns = await client.paginate(client.rest.checks.listForRef, { owner, repo, ref: sha, per_page: 100 });
    statuses = await readStatuses(input);
  } catch (error: unknown) {
    const status = typeof error === 'object' && error !== null && 'status' in error ? ` (HTTP ${String(error.status)})` : '';
    const message = error instanceof Error ? error.message : String(error);
    return [
      {
        check: CHECK,
        severity: 'error',
        file: null,
        line: null,
        message: `Could not read the CI results of ${owner}/${repo}@${short}${status}: ${message}`,
        fix: 'Give the job `permissions: { checks: read, statuses: read }` (or pass a github-token that has them) and make sure sha names a commit of this repository',
      },
    ];
  }
  input.logger?.info(`CI results for ${short}: ${checkRuns.length} check run(s), ${statuses.length} status(es)`);

  const ownRun = (url: string | null | undefined) =>
    input.runId !== undefined && input.runId !== '' && url !== null && url !== undefined && url.includes(`/actions/runs/${input.runId}/`);
  const latest = new Map<string, CheckRunLike>();
  for (const run of checkRuns) {
    const key = `${run.app?.slug ?? ''}/${run.name}`;
    const seen = latest.get(key);
    if (seen === undefined || run.id > seen.id) latest.set(key, run);
  }
  const findings: Finding[] = [];
  let counted = 0;
  for (const run of latest.values()) {
    const mine = ownRun(run.details_url) || ownRun(run.html_url);
    if (run.status !== 'completed') {
      if (mine) continue;
      counted += 1;
      findings.push(notReady(`Check run "${run.name}" is ${run.status} for ${short}`, run.html_url));
      continue;
    }
    counted += 1;
    const conclusion = run.conclusion ?? 'none';
    if (PASSING.has(conclusion)) continue;
    findings.push(red(`Check run "${run.name}" ${FAILING.has(conclusion) ? 'failed' : 'did not pass'} for ${short} (conclusion: ${conclusion})`, run.html_url ?? run.details_url));
  }
  for (const status of statuses) {
    if (ownRun(status.target_url)) continue;
    counted += 1;
    const detail = status.description ? `: ${status.description}` : '';
    if (status.state === 'pending') findings.push(notReady(`Status "${status.context}" is pending for ${short}${detail}`, status.target_url));
    else if (status.state !== 'success') findings.push(red(`Status "${status.context}" is ${status.state} for ${short}${detail}`, status.target_url));
  }
  if (counted === 0) {
    findings.push({
      check: CHECK,
      severity: 'error',
      file: null,
      line: null,
      message: `No CI result for ${short}: no check run or commit status other than this workflow run`,
      fix: 'Run CI on this commit (push it, or re-run the CI workflow) and deploy once it is green',
    });
  }
  return findings;
}

async function readStatuses(input: CiStatusInput): Promise<{ context: string; state: string; description?: string | null; target_url?: string | null }[]> {
  const all: { context: string; state: string; description?: string | null; target_url?: string | null }[] = [];
  for (let page = 1; page <= 10; page += 1) {
    const response = await input.client.rest.repos.getCombinedStatusForRef({ owner: input.owner, repo: input.repo, ref: input.sha, per_page: 100, page });
    all.push(...response.data.statuses);
    if (response.data.statuses.length < 100 || all.length >= response.data.total_count) break;
  }
  return all;
}

function notReady(message: string, url: string | null | undefined): Finding {
  return { check: CHECK, severity: 'error', file: null, line: null, message, fix: `Wait for CI to finish, then run the deploy again${url ? ` (${url})` : ''}` };
}

function red(message: string, url: string | null | undefined): Finding {
  return { check: CHECK, severity: 'error', file: null, line: null, message, fix: `Fix the failure and get CI green on this commit${url ? `: ${url}` : ''}` };
}

/** The finding when no token was given: the check is skipped, and says so. */
export function ciSkippedFinding(): Finding {
  return {
    check: CHECK,
    severity: 'warning',
    file: null,
    line: null,
    message: 'CI status was not checked: no github-token was given',
    fix: 'Pass github-token: ${{ github.token }} with permissions checks: read and statuses: read, so that a commit whose CI is not green is refused',
  };
}
