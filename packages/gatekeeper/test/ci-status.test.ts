import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCiStatus } from '@titan/gatekeeper/ci-status';
import { REPOSITORY, startGitHubApiDouble, type GitHubApiDouble } from './github-api-double.js';
import { textMatching, textContaining } from './release-fixture.js';

const SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
const RUN_ID = 12_345_678_901;

describe('CI status through @actions/github against a local GitHub API', () => {
  let api: GitHubApiDouble;
  const check = (runId?: string) =>
    checkCiStatus({ client: getOctokit('ghs_test_token_for_the_double', { baseUrl: api.baseUrl }), ...REPOSITORY, sha: SHA, runId: runId ?? String(RUN_ID) });

  beforeAll(async () => {
    api = await startGitHubApiDouble(SHA);
  });
  afterAll(async () => api.close());

  it('all green: no finding; the token is sent and the real REST paths are read', async () => {
    api.set({
      checkRuns: [
        { name: 'lint', status: 'completed', conclusion: 'success' },
        { name: 'test (node 24)', status: 'completed', conclusion: 'success' },
        { name: 'docs', status: 'completed', conclusion: 'skipped' },
        { name: 'bench', status: 'completed', conclusion: 'neutral' },
      ],
      statuses: [{ context: 'security/scan', state: 'success' }],
    });
    api.requests.length = 0;
    expect(await check()).toEqual([]);
    expect(api.requests.map((r) => r.path)).toEqual([
      `/repos/titan/titan-stack/commits/${SHA}/check-runs?per_page=100`,
      `/repos/titan/titan-stack/commits/${SHA}/status?per_page=100&page=1`,
    ]);
    expect(api.requests[0]?.authorization).toBe('token ghs_test_token_for_the_double');
  });

  it('one failing check run, on the second page, is named', async () => {
    const green = Array.from({ length: 120 }, (_, i) => ({ name: `shard ${i}`, status: 'completed' as const, conclusion: 'success' as const }));
    api.set({ checkRuns: [...green, { name: 'integration (test host)', status: 'completed', conclusion: 'failure' }] });
    api.requests.length = 0;
    const findings = await check();
    expect(api.requests.filter((r) => r.path.includes('/check-runs')).map((r) => r.path.split('?')[1])).toEqual(['per_page=100', 'per_page=100&page=2']);
    expect(findings).toEqual([
      {
        check: 'ci',
        severity: 'error',
        file: null,
        line: null,
        message: 'Check run "integration (test host)" failed for 6dcb09b (conclusion: failure)',
        fix: textContaining('https://github.com/titan/titan-stack/actions/runs/'),
      },
    ]);
  });

  it('a pending commit status means not ready', async () => {
    api.set({ checkRuns: [{ name: 'test', status: 'completed', conclusion: 'success' }], statuses: [{ context: 'ci/external', state: 'pending', description: 'Build queued' }] });
    expect(await check()).toEqual([expect.objectContaining({ severity: 'error', message: 'Status "ci/external" is pending for 6dcb09b: Build queued', fix: textMatching(/^Wait for CI to finish/) })]);
  });

  it('a queued or running check run means not ready; a cancelled one and a failed status fail', async () => {
    api.set({
      checkRuns: [
        { name: 'e2e', status: 'in_progress' },
        { name: 'build', status: 'queued' },
        { name: 'release-notes', status: 'completed', conclusion: 'cancelled' },
      ],
      statuses: [{ context: 'ci/legacy', state: 'error' }],
    });
    expect((await check()).map((f) => f.message)).toEqual([
      'Check run "e2e" is in_progress for 6dcb09b',
      'Check run "build" is queued for 6dcb09b',
      'Check run "release-notes" failed for 6dcb09b (conclusion: cancelled)',
      'Status "ci/legacy" is error for 6dcb09b',
    ]);
  });

  it("the current workflow's own run is excluded while it runs; another run's identical job is not", async () => {
    api.set({
      checkRuns: [
        { name: 'test', status: 'completed', conclusion: 'success' },
        { name: 'deploy / gatekeeper', status: 'in_progress', runId: RUN_ID },
        { name: 'deploy / release', status: 'queued', runId: RUN_ID },
      ],
    });
    expect(await check()).toEqual([]);
    expect((await check('999')).map((f) => f.message)).toEqual(['Check run "deploy / gatekeeper" is in_progress for 6dcb09b', 'Check run "deploy / release" is queued for 6dcb09b']);
  });

  it('a re-run that passed replaces the failed attempt of the same check', async () => {
    api.set({
      checkRuns: [
        { name: 'test', status: 'completed', conclusion: 'failure', id: 100 },
        { name: 'test', status: 'completed', conclusion: 'success', id: 200 },
      ],
    });
    expect(await check()).toEqual([]);
  });

  it('a commit with no CI at all is not known green', async () => {
    api.set({ checkRuns: [{ name: 'deploy / gatekeeper', status: 'in_progress', runId: RUN_ID }] });
    expect(await check()).toEqual([expect.objectContaining({ severity: 'error', message: 'No CI result for 6dcb09b: no check run or commit status other than this workflow run' })]);
  });

  it('an API error is a finding saying what to fix, not a crash', async () => {
    const findings = await checkCiStatus({ client: getOctokit('t', { baseUrl: api.baseUrl }), owner: 'titan', repo: 'elsewhere', sha: SHA });
    expect(findings).toEqual([expect.objectContaining({ severity: 'error', message: textMatching(/^Could not read the CI results of titan\/elsewhere@6dcb09b \(HTTP 404\)/), fix: textContaining('checks: read, statuses: read') })]);
  });
});
