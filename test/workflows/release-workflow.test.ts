import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { startGitHubApiStandIn, type GitHubApiStandIn } from '@titan/workflow-runner/github-api';
import { LocalGitHub } from '@titan/workflow-runner/local-github';
import type { RunResult } from '@titan/workflow-runner/run-model';

/**
 * release.yml, read from its file and run by the local runner in a scratch git repository standing
 * for GitHub's titan/actions: a clone of this repository's last commit, where v1.0.0 and v1 already
 * tag the commit before it. The version job refuses what is not a new release of main; the release
 * job clones the repository with its tags, installs, rebuilds every dist/ from source and compares
 * it with the committed one, starts every bundle under Node 24, checks the READMEs and workflows,
 * then tags vX.Y.Z and moves vX, pushed to the repository as to GitHub; a commit whose committed
 * dist/ is not what its sources build is refused, the action named, no tag moved. Its `test` job (ci.yml, the
 * whole suite) is the suite this test belongs to: it is concluded, not run again, and the run's log
 * says so.
 */
const RELEASE_WORKFLOW = join(REPOSITORY_ROOT, '.github/workflows/release.yml');

function git(repo: string, args: readonly string[]): string {
  return execFileSync('git', ['-C', repo, '-c', 'user.name=Titan', '-c', 'user.email=titan@example.invalid', ...args], { encoding: 'utf8' }).trim();
}

function explain(run: RunResult): string {
  return `run ${run.runId} ${run.conclusion}; chain errors: ${JSON.stringify(run.chainErrors)}\n${run.log.slice(-60).join('\n')}`;
}

describe('release.yml, run from its file in a scratch repository', () => {
  let scratch: string;
  let origin: string;
  let head: string;
  let previous: string;
  let api: GitHubApiStandIn;
  let github: LocalGitHub;
  const tags = () => git(origin, ['for-each-ref', '--format=%(refname:short) %(*objectname)', 'refs/tags']);

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'titan-release-'));
    origin = join(scratch, 'actions');
    execFileSync('git', ['clone', '--quiet', REPOSITORY_ROOT, origin]);
    head = git(origin, ['rev-parse', 'HEAD']);
    previous = git(origin, ['rev-parse', 'HEAD~1']);
    git(origin, ['tag', '-a', 'v1.0.0', '-m', 'titan/actions v1.0.0', previous]);
    git(origin, ['tag', '-a', 'v1', '-m', 'titan/actions v1', previous]);
    api = await startGitHubApiStandIn();
    github = new LocalGitHub({ repository: { root: origin, name: 'titan/actions' }, api, scratch: join(scratch, 'runs') });
  });

  afterAll(async () => {
    await api.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('refuses, before the suite runs, a malformed version, another branch, an existing version and an older one', { timeout: 120_000 }, async () => {
    const before = tags();
    const cases: [string, string, RegExp][] = [
      ['1.1', 'refs/heads/main', /error: version must be X\.Y\.Z, got '1\.1'/],
      ['1.1.0', 'refs/heads/feature', /error: releases are made from main, not refs\/heads\/feature/],
      ['1.0.0', 'refs/heads/main', new RegExp(`error: v1\\.0\\.0 already exists \\(at ${previous}\\); release a new version`)],
      ['0.9.9', 'refs/heads/main', /error: v0\.9\.9 is not newer than v1\.0\.0/],
    ];
    for (const [version, ref, error] of cases) {
      const run = await github.run({ workflow: RELEASE_WORKFLOW, event: 'workflow_dispatch', sha: head, ref, inputs: { version } });
      expect(run.conclusion, explain(run)).toBe('failure');
      expect(run.jobs['version']?.result).toBe('failure');
      expect(run.jobs['test']?.result, version).toBe('skipped');
      expect(run.jobs['release']?.result, version).toBe('skipped');
      expect(run.log.join('\n'), version).toMatch(error);
    }
    expect(tags()).toBe(before);
  });

  it('rebuilds and checks every dist/, then tags v1.1.0 and moves v1 to it', { timeout: 600_000 }, async () => {
    const run = await github.run({ workflow: RELEASE_WORKFLOW, event: 'workflow_dispatch', sha: head, ref: 'refs/heads/main', inputs: { version: '1.1.0' }, concluded: { test: 'success' } });
    expect(run.conclusion, explain(run)).toBe('success');
    expect(run.chainErrors).toEqual([]);
    expect(run.log.join('\n')).toContain('[test] not run by the local runner: concluded success');
    const release = run.jobs['release']?.legs[0];
    const step = (name: string) => release?.steps.find((s) => s.name === name);
    // Every package built and every action bundled again, from source, and nothing differs.
    const rebuild = step('Rebuild every dist/ and compare with the committed one');
    expect(rebuild?.conclusion).toBe('success');
    expect(rebuild?.log.join('\n')).toMatch(/Tasks:\s+(\d+) successful, \1 total/);
    expect(rebuild?.log.join('\n')).toMatch(/Cached:\s+0 cached/);
    expect(step('Bundles start under Node 24 and ship their licences; READMEs and workflows are current')?.conclusion).toBe('success');
    expect(release?.permissions).toMatchObject({ contents: 'write' });

    expect(git(origin, ['rev-parse', 'v1.1.0^{commit}'])).toBe(head);
    expect(git(origin, ['rev-parse', 'v1^{commit}'])).toBe(head);
    expect(git(origin, ['rev-parse', 'v1.0.0^{commit}'])).toBe(previous);
    expect(git(origin, ['tag', '-l', '--format=%(contents:subject)', 'v1'])).toBe('titan/actions v1 (moves with every v1.x release; now v1.1.0)');
    expect(release?.summary).toContain(`Tagged ${head} as \`v1.1.0\` and moved \`v1\` to it`);
  });

  it("refuses a commit whose committed dist/ is not what its sources build, naming the action, before any tag moves", { timeout: 600_000 }, async () => {
    // A change to action-deploy/matrix committed without its rebuilt bundle (here: the bundle edited by hand).
    const bundle = join(origin, 'action-deploy/matrix/dist/index.js');
    await appendFile(bundle, '\n// patched in place, not rebuilt\n');
    git(origin, ['commit', '-q', '-am', 'action-deploy/matrix: a fix, bundle not rebuilt']);
    const tampered = git(origin, ['rev-parse', 'HEAD']);
    const before = tags();
    const run = await github.run({ workflow: RELEASE_WORKFLOW, event: 'workflow_dispatch', sha: tampered, ref: 'refs/heads/main', inputs: { version: '1.2.0' }, concluded: { test: 'success' } });
    expect(run.conclusion, explain(run)).toBe('failure');
    const release = run.jobs['release']?.legs[0];
    const step = (name: string) => release?.steps.find((s) => s.name === name);
    expect(step('Rebuild every dist/ and compare with the committed one')?.conclusion).toBe('failure');
    expect(run.log.join('\n')).toContain(
      'error: action-deploy/matrix: the committed dist/ is not what its sources build (action-deploy/matrix/dist/index.js differs); rebuild it with npx turbo run bundle and commit action-deploy/matrix/dist',
    );
    expect(step('Tag v1.2.0 and move the major tag')?.conclusion).toBe('skipped');
    expect(tags()).toBe(before);
    expect(git(origin, ['tag', '-l', 'v1.2.0'])).toBe('');
    expect(git(origin, ['rev-parse', 'v1^{commit}'])).toBe(head);
  });
});
