import { execFile } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runActionBundle } from '@titan/test-host/action-run';

const ACTION = 'action-deploy/matrix';
const SAMPLE_RELEASE = resolve(import.meta.dirname, '../../../examples/titan');
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const ON_MAIN = { GITHUB_SHA: SHA, GITHUB_REF: 'refs/heads/main' };
const run = promisify(execFile);

let workspace: string;
let cacheDir: string;

beforeEach(async () => {
  // A workspace as actions/checkout leaves it: the sample release at examples/titan.
  workspace = await mkdtemp(join(tmpdir(), 'titan-matrix-ws-'));
  await cp(SAMPLE_RELEASE, join(workspace, 'examples/titan'), { recursive: true });
  cacheDir = join(workspace, '..', `${workspace.split('/').pop() ?? ''}-cache`);
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
});

function legsOf(matrix: string | undefined): { service: string; tags: string; 'cache-key': string }[] {
  return (JSON.parse(matrix ?? '') as { include: { service: string; tags: string; 'cache-key': string }[] }).include;
}

async function writeDigests(dir: string, services: string[]): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const digests: Record<string, string> = {};
  services.forEach((s, i) => (digests[s] = `sha256:${(i + 16).toString(16).repeat(32)}`));
  for (const [s, d] of Object.entries(digests)) await writeFile(join(dir, s), `${d}\n`);
  return digests;
}

describe('matrix action bundle', () => {
  it('given no inputs, fails with a configuration error naming the missing input', async () => {
    const result = await runActionBundle(ACTION, { cwd: workspace });
    expect(result.status).toBe(1);
    expect(result.log).toContain('::error::Configuration error: Input required and not supplied: sha');
    expect(result.outputs).toEqual({});
  });

  it('plans every image of the sample release, with outputs and a summary', async () => {
    const result = await runActionBundle(ACTION, { cwd: workspace, inputs: { cache: cacheDir }, env: ON_MAIN });
    expect(result.log).not.toContain('::error::');
    expect(result.status).toBe(0);
    const legs = legsOf(result.outputs['matrix']);
    expect(legs).toHaveLength(17);
    expect(legs.map((l) => l.service)).toEqual(expect.arrayContaining(['titan-console-api', 'titan-opsd', 'titan-execution']));
    expect(legs.find((l) => l.service === 'titan-opsd')?.tags).toBe(`127.0.0.1:5000/titan/titan-opsd:sha-${SHA}\n127.0.0.1:5000/titan/titan-opsd:latest`);
    expect(result.outputs['has-builds']).toBe('true');
    expect(result.outputs['reused']).toBe('{}');
    expect(Object.keys(JSON.parse(result.outputs['keys'] ?? '') as object)).toHaveLength(17);
    expect(result.outputs['risk']).toBe('high');
    expect(JSON.parse(result.outputs['risk-reasons'] ?? '')).toEqual([
      'high: no previous release to compare with (input since is empty): every change counts as high',
    ]);
    expect(result.summary).toContain('## Build matrix');
    expect(result.summary).toMatch(/\| titan-console-api \| build \| {2}\| [0-9a-f]{12} \| sha-3f786850e387550fdab836ed7e6dc881de23001b, latest \|/);
    expect(result.summary).toContain('### Risk: high');
  });

  it('tags latest only on the default branch named by the event payload', async () => {
    const event = join(workspace, '..', `${workspace.split('/').pop() ?? ''}-event.json`);
    await writeFile(event, JSON.stringify({ repository: { default_branch: 'trunk' } }));
    try {
      const onMain = await runActionBundle(ACTION, { cwd: workspace, env: { ...ON_MAIN, GITHUB_EVENT_PATH: event } });
      for (const leg of legsOf(onMain.outputs['matrix'])) expect(leg.tags).not.toContain(':latest');
      const onTrunk = await runActionBundle(ACTION, { cwd: workspace, env: { GITHUB_SHA: SHA, GITHUB_REF: 'refs/heads/trunk', GITHUB_EVENT_PATH: event } });
      for (const leg of legsOf(onTrunk.outputs['matrix'])) expect(leg.tags).toContain(':latest');
    } finally {
      await rm(event, { force: true });
    }
  });

  it('records the legs\' digests, then plans nothing to build and reuses every digest', async () => {
    const plan = await runActionBundle(ACTION, { cwd: workspace, inputs: { cache: cacheDir }, env: ON_MAIN });
    const digests = await writeDigests(join(workspace, 'digests'), legsOf(plan.outputs['matrix']).map((l) => l.service));

    const record = await runActionBundle(ACTION, {
      cwd: workspace,
      // No GITHUB_SHA: record recomputes the keys of its checkout and needs no commit.
      inputs: { mode: 'record', cache: cacheDir, digests: 'digests', matrix: plan.outputs['matrix'] ?? '' },
    });
    expect(record.log).not.toContain('::error::');
    expect(record.status).toBe(0);
    expect(JSON.parse(record.outputs['recorded'] ?? '')).toEqual(digests);
    expect(record.summary).toContain('## Build digests recorded');
    expect(record.summary).toContain(`| titan-opsd | ${digests['titan-opsd']} |`);

    const again = await runActionBundle(ACTION, { cwd: workspace, inputs: { cache: cacheDir }, env: ON_MAIN });
    expect(again.status).toBe(0);
    expect(again.outputs['matrix']).toBe('{"include":[]}');
    expect(again.outputs['has-builds']).toBe('false');
    expect(JSON.parse(again.outputs['reused'] ?? '')).toEqual(digests);
    expect(again.outputs['keys']).toBe(plan.outputs['keys']);
    expect(again.summary).toContain(`| titan-opsd | reused | ${digests['titan-opsd']} |`);
    expect(again.summary).toContain('Nothing to build');

    // A change to the nats image's context: exactly nats is built again.
    await appendFile(join(workspace, 'examples/titan/images/nats/entrypoint.sh'), '\n# changed\n');
    const third = await runActionBundle(ACTION, { cwd: workspace, inputs: { cache: cacheDir }, env: ON_MAIN });
    expect(legsOf(third.outputs['matrix']).map((l) => l.service)).toEqual(['nats']);
  });

  it('rates risk from git history with since', async () => {
    const git = (...args: string[]) =>
      run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: workspace }).then((r) => r.stdout.trim());
    await git('init', '-q');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'release 1');
    const since = await git('rev-parse', 'HEAD');
    await writeFile(join(workspace, 'examples/titan/images/postgres/extra.conf'), 'x\n');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'release 2');
    const sha = await git('rev-parse', 'HEAD');
    const result = await runActionBundle(ACTION, { cwd: workspace, inputs: { since, sha, ref: 'refs/heads/main' } });
    expect(result.status).toBe(0);
    expect(result.outputs['risk']).toBe('medium');
    expect(JSON.parse(result.outputs['risk-reasons'] ?? '')).toEqual(['medium: build context of postgres changed: examples/titan/images/postgres/extra.conf']);

    const missing = await runActionBundle(ACTION, { cwd: workspace, inputs: { since: 'abcdef0123456', sha, ref: 'refs/heads/main' } });
    expect(missing.status).toBe(1);
    expect(missing.log).toContain('::error::Configuration error: commit abcdef0123456 (input since) is not in this clone');
  });

  it('takes changed-files instead of since', async () => {
    const result = await runActionBundle(ACTION, {
      cwd: workspace,
      inputs: { 'changed-files': 'docs/runbook.md\nexamples/titan/migrations/0004_x.sql\n' },
      env: ON_MAIN,
    });
    expect(result.outputs['risk']).toBe('high');
    expect(JSON.parse(result.outputs['risk-reasons'] ?? '')).toEqual([
      'high: migrations changed: examples/titan/migrations/0004_x.sql',
      'low: documentation or tests changed: docs/runbook.md',
    ]);
  });

  it('refuses malformed digest files, naming each', async () => {
    await mkdir(join(workspace, 'digests'));
    await writeFile(join(workspace, 'digests/titan-brain'), 'sha256:1234\n');
    await writeFile(join(workspace, 'digests/not-a-service'), `sha256:${'a'.repeat(64)}`);
    const result = await runActionBundle(ACTION, { cwd: workspace, inputs: { mode: 'record', cache: cacheDir, digests: 'digests' }, env: ON_MAIN });
    expect(result.status).toBe(1);
    expect(result.log).toContain('::error::Configuration error: digests: 2 digest files are not valid:');
    expect(result.log).toContain('digests/titan-brain: expected sha256:<64 lowercase hex> and at most one newline; got "sha256:1234\\n"');
    expect(result.log).toContain('digests/not-a-service: "not-a-service" is not a service in services.yml');
  });

  it('names the file, line and fix for an invalid services.yml, and asks for a registry when there is none', async () => {
    const file = join(workspace, 'examples/titan/services.yml');
    await appendFile(file, 'signing: true\n');
    const invalid = await runActionBundle(ACTION, { cwd: workspace, env: ON_MAIN });
    expect(invalid.status).toBe(1);
    expect(invalid.log).toMatch(
      /::error::Configuration error: Input services-file: examples\/titan\/services\.yml: has 1 problem\(s\):%0Aexamples\/titan\/services\.yml:\d+: the top level: unknown key "signing"/,
    );

    await writeFile(file, (await readFile(join(SAMPLE_RELEASE, 'services.yml'), 'utf8')).replace(/^registry:.*$/m, ''));
    const noRegistry = await runActionBundle(ACTION, { cwd: workspace, env: ON_MAIN });
    expect(noRegistry.status).toBe(1);
    expect(noRegistry.log).toContain('::error::Configuration error: Input required and not supplied: registry (examples/titan/services.yml names no registry)');
    const given = await runActionBundle(ACTION, { cwd: workspace, inputs: { registry: 'ghcr.io/acme/titan' }, env: ON_MAIN });
    expect(legsOf(given.outputs['matrix'])[0]?.tags).toContain('ghcr.io/acme/titan/titan-brain:sha-');
  });

  it('rejects bad input values with the input named', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ sha: 'HEAD' }, 'Input sha must be the full 40-character lowercase hex commit sha, got "HEAD"'],
      [{ mode: 'build' }, 'Input mode must be one of plan, record; got "build"'],
      [{ registry: 'https://ghcr.io/acme' }, 'Input registry is not valid: "https://ghcr.io/acme" starts with a scheme'],
      [{ platform: 'amd64' }, 'Input platform: "amd64" is not a platform'],
      [{ since: 'abc1234', 'changed-files': 'a' }, 'Inputs since and changed-files are both set'],
      [{ mode: 'record', digests: 'digests' }, 'Input cache is none (or unset outside GitHub Actions): record needs a cache'],
      [{ cache: 'actions' }, 'Input cache is actions, but this runner offers no Actions cache'],
    ];
    for (const [inputs, message] of cases) {
      const result = await runActionBundle(ACTION, { cwd: workspace, inputs, env: ON_MAIN });
      expect([result.status, result.log]).toEqual([1, expect.stringContaining(`::error::Configuration error: ${message}`)]);
    }
  });
});
