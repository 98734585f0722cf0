import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import { REPOSITORY, startGitHubApiDouble, type GitHubApiDouble } from '../../../packages/gatekeeper/test/github-api-double.js';
import { copyExample, dotenvText, editFile, goodValues, lineOf, replaceInService } from '../../../packages/gatekeeper/test/release-fixture.js';

const SHA = '9fceb02d0ae598e95dc970b74767f19372d61af8';
const RUN_ID = '11223344556';

/**
 * The committed bundle, run the way a runner runs it (runActionBundle), in a workspace at the
 * repository's root, the GitHub API at GITHUB_API_URL (a local double here).
 */
function runBundle(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runActionBundle('action-deploy/gatekeeper', { inputs, cwd: REPOSITORY_ROOT, env: { GITHUB_WORKSPACE: REPOSITORY_ROOT, ...env } });
}

describe('the gatekeeper bundle, run like a runner', () => {
  let api: GitHubApiDouble;
  const ciEnv = () => ({ GITHUB_API_URL: api.baseUrl, GITHUB_REPOSITORY: `${REPOSITORY.owner}/${REPOSITORY.repo}`, GITHUB_SHA: SHA, GITHUB_RUN_ID: RUN_ID });

  beforeAll(async () => {
    api = await startGitHubApiDouble(SHA);
  });
  afterAll(async () => api.close());
  beforeEach(() => {
    api.set({ checkRuns: [{ name: 'test', status: 'completed', conclusion: 'success' }, { name: 'deploy / gatekeeper', status: 'in_progress', runId: Number(RUN_ID) }] });
  });

  it('given no inputs, fails with a ConfigurationError naming the missing input', async () => {
    const run = await runBundle({});
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error::Configuration error: Input required and not supplied: values (or env-file)');
  });

  it('examples/titan with good values and green CI: ready, exit 0, a summary with every check passed', async () => {
    const run = await runBundle({ source: 'examples/titan', values: dotenvText(goodValues()), 'github-token': 'ghs_bundle_test', 'warn-only': 'false' }, ciEnv());
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.outputs['ready']).toBe('true');
    expect(JSON.parse(run.outputs['findings'] ?? '')).toEqual([]);
    expect(run.summary).toContain('✅ **Ready to deploy**');
    expect(run.summary).toContain('| CI green for the commit | ✅ passed | 0 |');
    expect(run.summary).toContain('| Compose policy | ✅ passed | 0 |');
    expect(run.summary).toContain('| Secret files | ✅ passed | 0 |');
    expect(run.summary).toContain('| Stack profile | ✅ passed | 0 |');
    expect(api.requests.some((r) => r.path.startsWith(`/repos/titan/titan-stack/commits/${SHA}/check-runs`) && r.authorization === 'token ghs_bundle_test')).toBe(true);
  });

  it('a red CI run: not ready, the failing check named, the step fails', async () => {
    api.set({ checkRuns: [{ name: 'test', status: 'completed', conclusion: 'success' }, { name: 'integration', status: 'completed', conclusion: 'failure' }] });
    const run = await runBundle({ source: 'examples/titan', values: dotenvText(goodValues()), 'github-token': 'ghs_bundle_test' }, ciEnv());
    expect(run.status).toBe(1);
    expect(run.outputs['ready']).toBe('false');
    expect(run.stdout).toContain('::error::Deploy refused: 1 finding(s) block it:%0A- [ci] Check run "integration" failed for 9fceb02 (conclusion: failure)');
    expect(run.summary).toContain('| CI green for the commit | ❌ failed | 1 |');
  });

  describe('with violations in the values and the Compose files', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    let envFile: string;
    let fileValues: Record<string, string>;
    let secretValues: Record<string, string>;
    let prodText: string;

    beforeAll(async () => {
      ({ dir, cleanup } = await copyExample());
      prodText = await editFile(join(dir, 'docker-compose.prod.yml'), (t) => replaceInService(t, 'postgres', '    restart: unless-stopped\n', '    restart: unless-stopped\n    ports:\n      - "5432:5432"\n'));
      fileValues = goodValues();
      fileValues['HMAC_SECRET'] = 'supersecretkey_staging_only';
      fileValues['SAFETY_SECRET'] = 'safety_dance_staging_only';
      fileValues['TITAN_DB_PASSWORD'] = '__CHANGE_ME__';
      fileValues['REDIS_PASSWORD'] = 'Tr0ub4dor&3x';
      fileValues['BYBIT_API_KEY'] = 'dummy_key_staging';
      envFile = join(dir, 'prod.env');
      await writeFile(envFile, dotenvText(fileValues), { mode: 0o600 });
      const nats = goodValues()['NATS_SCAVENGER_PASSWORD'] ?? '';
      secretValues = { NATS_SCAVENGER_PASSWORD: nats, NATS_HUNTER_PASSWORD: nats, GRAFANA_ADMIN_PASSWORD: 'Admin', ACME_EMAIL: 'titan-ops@example.com' };
    });
    afterAll(async () => cleanup());

    const inputs = (extra: Record<string, string> = {}) => ({
      source: dir,
      'env-file': envFile,
      values: Object.entries(secretValues).map(([k, v]) => `export ${k}="${v}"`).join('\n'),
      ...extra,
    });

    it('refuses the deploy: each finding names its file, line and check', async () => {
      const run = await runBundle(inputs({ 'github-token': 'ghs_bundle_test' }), ciEnv());
      expect(run.status).toBe(1);
      expect(run.outputs['ready']).toBe('false');
      const findings = JSON.parse(run.outputs['findings'] ?? '[]') as { check: string; file: string | null; line: number | null; message: string }[];
      const where = (message: string) => findings.find((f) => f.message === message);
      const envName = join(dir, 'prod.env');
      const envLine = (key: string) => Object.keys(fileValues).indexOf(key) + 2;
      expect(where('HMAC_SECRET is a known development default')).toMatchObject({ check: 'production-values', file: envName, line: envLine('HMAC_SECRET') });
      expect(where('SAFETY_SECRET is a known development default')).toMatchObject({ file: envName, line: envLine('SAFETY_SECRET') });
      expect(where('TITAN_DB_PASSWORD is still a placeholder')).toMatchObject({ file: envName, line: envLine('TITAN_DB_PASSWORD') });
      expect(where('REDIS_PASSWORD is too short to be a generated secret (12 characters; at least 16 needed)')).toMatchObject({ file: envName, line: envLine('REDIS_PASSWORD') });
      expect(where('BYBIT_API_KEY is a known development default')).toMatchObject({ file: envName, line: envLine('BYBIT_API_KEY') });
      expect(where('NATS_HUNTER_PASSWORD equals NATS_SCAVENGER_PASSWORD')).toMatchObject({ file: 'input:values', line: 2 });
      expect(where('GRAFANA_ADMIN_PASSWORD is a known development default')).toMatchObject({ file: 'input:values', line: 3 });
      expect(where('ACME_EMAIL is an address at a reserved example or test domain, which cannot receive mail')).toMatchObject({ file: 'input:values', line: 4 });
      expect(findings.find((f) => f.check === 'compose')).toMatchObject({ file: join(dir, 'docker-compose.prod.yml'), line: lineOf(prodText, '- "5432:5432"') });
      expect(findings.filter((f) => f.check !== 'ci')).toHaveLength(9);
      expect(run.stdout).toContain('::error::Deploy refused: 9 finding(s) block it:');
      expect(run.summary).toContain('| Production values | ❌ failed | 8 |');
    });

    it('never shows a value: not in stdout, stderr, the outputs or the summary (only in the masking commands)', async () => {
      const run = await runBundle(inputs({ 'github-token': 'ghs_bundle_test' }), ciEnv());
      expect(run.status).toBe(1);
      const everyValue = [...Object.values(fileValues), ...Object.values(secretValues)].filter((v) => v.length >= 6);
      const masked = new Set(run.stdout.split('\n').filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length)));
      for (const value of [...Object.values(secretValues), 'supersecretkey_staging_only', 'safety_dance_staging_only', '__CHANGE_ME__', 'Tr0ub4dor&3x', 'dummy_key_staging']) {
        expect(masked.has(value), `${value} registered with the runner's masking`).toBe(true);
      }
      const logLines = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
      for (const value of everyValue) {
        const shown = { stdout: logLines.join('\n'), stderr: run.stderr, outputs: run.outputText, summary: run.summary };
        for (const [where, text] of Object.entries(shown)) expect(text.includes(value), `a value appears in ${where}`).toBe(false);
      }
      expect(masked.has('ghs_bundle_test')).toBe(true);
      expect(logLines.join('\n')).not.toContain('ghs_bundle_test');
    });

    it('warn-only: the same findings are reported, ready is false, and the step passes', async () => {
      const run = await runBundle(inputs({ 'warn-only': 'true' }));
      expect(run.status).toBe(0);
      expect(run.outputs['ready']).toBe('false');
      expect(JSON.parse(run.outputs['findings'] ?? '[]')).toHaveLength(10);
      expect(run.stdout).toContain('(warn-only: the step passes)');
      expect(run.summary).toContain('(warn-only: the step passes anyway)');
    });
  });
});
