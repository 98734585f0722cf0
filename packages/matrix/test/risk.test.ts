import { execFile } from 'node:child_process';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedPathsSince } from '@titan/matrix/changed-paths';
import { assessRisk, type RiskAssessment } from '@titan/matrix/risk';
import { readServicesFile, type ServicesFile } from '@titan/release/services-file';
import { copySampleRelease } from './support/sample-release.js';

const run = promisify(execFile);
let release: Awaited<ReturnType<typeof copySampleRelease>>;
let services: ServicesFile;

async function git(...args: string[]): Promise<string> {
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };
  return (await run('git', ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], { cwd: release.root, env })).stdout.trim();
}

beforeAll(async () => {
  // A real repository whose examples/titan is the sample release.
  release = await copySampleRelease();
  services = await readServicesFile(release.servicesFile);
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'first release');
});
afterAll(async () => {
  await release.remove();
});

const risk = (changedPaths: string[] | undefined): Promise<RiskAssessment> =>
  assessRisk({ services, repoRoot: release.root, changedPaths, since: 'abc1234' });

describe('release risk', () => {
  it('is high with no previous release to compare with', async () => {
    expect(await risk(undefined)).toEqual({
      level: 'high',
      reasons: ['high: no previous release to compare with (input since is empty): every change counts as high'],
      changes: [],
    });
  });

  it('is high for the execution engine build context, a migration or a compose file', async () => {
    const execution = await risk(['examples/titan/images/titan-service/entrypoint.sh', 'README.md']);
    expect(execution.level).toBe('high');
    expect(execution.reasons[0]).toMatch(
      /^high: critical build context \(titan-execution; shared with titan-console, .*titan-opsd.*\) changed: examples\/titan\/images\/titan-service\/entrypoint\.sh$/,
    );
    expect(execution.reasons[1]).toBe('low: documentation or tests changed: README.md');

    const migration = await risk(['examples/titan/migrations/0004_new.sql']);
    expect(migration).toMatchObject({ level: 'high', reasons: ['high: migrations changed: examples/titan/migrations/0004_new.sql'] });
    const compose = await risk(['./examples/titan/docker-compose.prod.yml']);
    expect(compose).toMatchObject({ level: 'high', reasons: ['high: compose files changed: examples/titan/docker-compose.prod.yml'] });
  });

  it('is medium for another service context, config, policy, env template, services.yml or any other file', async () => {
    const cases: [string, string][] = [
      ['examples/titan/images/postgres/entrypoint.sh', 'medium: build context of postgres changed: examples/titan/images/postgres/entrypoint.sh'],
      ['examples/titan/images/infra-standin/Dockerfile', 'medium: build context of traefik, prometheus, grafana, titan-tempo changed: examples/titan/images/infra-standin/Dockerfile'],
      ['examples/titan/config/policy.json', 'medium: policy file changed: examples/titan/config/policy.json'],
      ['examples/titan/config/nats.conf', 'medium: config changed: examples/titan/config/nats.conf'],
      ['examples/titan/production.env.template', 'medium: env template changed: examples/titan/production.env.template'],
      ['examples/titan/services.yml', 'medium: services.yml changed: examples/titan/services.yml'],
      ['.github/workflows/deploy.yml', 'medium: other files (not documentation or tests) changed: .github/workflows/deploy.yml'],
    ];
    for (const [path, reason] of cases) expect(await risk([path, 'docs/runbook.md'])).toMatchObject({ level: 'medium', reasons: [reason, 'low: documentation or tests changed: docs/runbook.md'] });
  });

  it('is low for documentation and tests only, or nothing at all', async () => {
    const docs = await risk(['README.md', 'docs/deploy.md', 'packages/ssh/test/connection.test.ts', 'tests/e2e/run.sh', 'LICENSE']);
    expect(docs.level).toBe('low');
    expect(docs.reasons).toEqual(['low: documentation or tests changed: README.md, docs/deploy.md, packages/ssh/test/connection.test.ts, tests/e2e/run.sh, LICENSE']);
    expect(await risk([])).toEqual({ level: 'low', reasons: ['low: nothing changed since abc1234'], changes: [] });
  });

  it('does not count a context file that .dockerignore leaves out of the image', async () => {
    await writeFile(join(release.dir, 'images/titan-service/.dockerignore'), '*.md\n');
    try {
      expect((await risk(['examples/titan/images/titan-service/NOTES.md'])).level).toBe('low');
      expect((await risk(['examples/titan/images/titan-service/notes.txt'])).level).toBe('high');
    } finally {
      await rm(join(release.dir, 'images/titan-service/.dockerignore'));
    }
  });

  it('lists at most ten paths per reason', async () => {
    const paths = Array.from({ length: 12 }, (_, i) => `examples/titan/migrations/00${10 + i}_m.sql`);
    const { reasons } = await risk(paths);
    expect(reasons[0]).toMatch(/0019_m\.sql and 2 more$/);
  });
});

describe('changed paths from git', () => {
  it('diffs the previous release commit against this one, renames as both paths', async () => {
    const since = await git('rev-parse', 'HEAD');
    await appendFile(join(release.dir, 'migrations/0003_risk_and_audit.sql'), '\n-- index\n');
    await writeFile(join(release.dir, 'NOTES.md'), 'notes\n');
    await git('mv', 'examples/titan/config/tempo.yaml', 'examples/titan/config/tempo.yml');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'second release');
    const sha = await git('rev-parse', 'HEAD');

    const changed = await changedPathsSince({ dir: release.dir, since, sha });
    expect(changed.repoRoot).toBe(await git('rev-parse', '--show-toplevel'));
    expect(changed.paths.sort()).toEqual([
      'examples/titan/NOTES.md',
      'examples/titan/config/tempo.yaml',
      'examples/titan/config/tempo.yml',
      'examples/titan/migrations/0003_risk_and_audit.sql',
    ]);
    const assessment = await assessRisk({ services, repoRoot: changed.repoRoot, changedPaths: changed.paths, since });
    expect(assessment.level).toBe('high');
    expect(assessment.reasons).toEqual([
      'high: migrations changed: examples/titan/migrations/0003_risk_and_audit.sql',
      'medium: config changed: examples/titan/config/tempo.yaml, examples/titan/config/tempo.yml',
      'low: documentation or tests changed: examples/titan/NOTES.md',
    ]);
    expect(await changedPathsSince({ dir: release.dir, since: sha, sha })).toEqual({ repoRoot: changed.repoRoot, paths: [] });
  });

  it('says what to do when the previous release commit is not in the clone, or is not a sha', async () => {
    const sha = await git('rev-parse', 'HEAD');
    await expect(changedPathsSince({ dir: release.dir, since: 'deadbeefdeadbeef', sha })).rejects.toThrow(
      /commit deadbeefdeadbeef \(input since\) is not in this clone of .*: check out with fetch-depth: 0/,
    );
    await expect(changedPathsSince({ dir: release.dir, since: '--output=/tmp/x', sha })).rejects.toThrow(
      '"--output=/tmp/x" is not a commit sha: give the previous release\'s git sha',
    );
  });
});
