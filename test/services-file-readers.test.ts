/**
 * One services.yml, one reader: the committed bundles of gatekeeper, matrix and sign, run as a
 * runner runs them on the same workspace, refuse the same bad services.yml with the same problems,
 * each at its file and line (gatekeeper in its findings and annotations, matrix and sign in their
 * configuration errors), and a badly named migration with the same words in gatekeeper and sign.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import { dotenvText, goodValues } from '../packages/gatekeeper/test/release-fixture.js';

const SHA = 'fedcba9876543210fedcba9876543210fedcba98';
const ENV = { GITHUB_SHA: SHA, GITHUB_REF: 'refs/heads/main', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '778' };
const FILE = 'examples/titan/services.yml';

let workspace: string;
let digests: string;

beforeAll(async () => {
  // A workspace as actions/checkout leaves it: the sample release at examples/titan.
  workspace = await mkdtemp(join(tmpdir(), 'titan-one-reader-'));
  await cp(join(REPOSITORY_ROOT, 'examples/titan'), join(workspace, 'examples/titan'), { recursive: true });
  digests = join(workspace, 'digests');
  await mkdir(digests);
  const services = [...(await readFile(join(workspace, FILE), 'utf8')).matchAll(/- service: (\S+)/g)].map((m) => m[1] ?? '');
  for (const service of services) await writeFile(join(digests, service), `sha256:${createHash('sha256').update(service).digest('hex')}\n`);
});
afterAll(async () => rm(workspace, { recursive: true, force: true }));

const run = (action: string, inputs: Record<string, string>): Promise<ActionRun> => runActionBundle(`action-deploy/${action}`, { cwd: workspace, inputs, env: { ...ENV, GITHUB_WORKSPACE: workspace } });
const gatekeeper = (): Promise<ActionRun> => run('gatekeeper', { source: 'examples/titan', values: dotenvText(goodValues()) });
const matrix = (): Promise<ActionRun> => run('matrix', { 'services-file': FILE, cache: 'none' });
const sign = (): Promise<ActionRun> => run('sign', { source: 'examples/titan', digests, 'signing-key': Buffer.from(nacl.randomBytes(32)).toString('base64'), output: join(workspace, 'bundles') });

/** `LINE: message` of every `<path>services.yml:LINE: message` in the run's error (workflow commands decode %0A). */
function servicesProblems(result: ActionRun): string[] {
  const error = result.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
  return error
    .replaceAll('%0A', '\n')
    .split('\n')
    .flatMap((l) => /services\.yml:(\d+): (.*)$/.exec(l)?.slice(1, 3).join(': ') ?? []);
}

interface Finding {
  check: string;
  file: string | null;
  line: number | null;
  message: string;
}

describe('one reader of services.yml for gatekeeper, matrix and sign', () => {
  it('the same bad services.yml: the same problems, at the same lines, through all three actions', async () => {
    const original = await readFile(join(workspace, FILE), 'utf8');
    const edited = original
      .replace('registry: 127.0.0.1:5000/titan\n', 'registry: 127.0.0.1:5000/titan\nsigning: true\n')
      .replace('image: titan-opsd\n', 'image: titan-opsd:latest\n')
      .replace('context: images/titan-console-api\n', 'context: images/titan-console-app\n')
      .replace('policy: config/policy.json', 'policy: policy.json');
    await writeFile(join(workspace, FILE), edited);
    const lineOf = (text: string): number => edited.split('\n').findIndex((l) => l.includes(text)) + 1;
    const expected = [
      `${lineOf('signing: true')}: the top level: unknown key "signing" (known keys: registry, release, images, values)`,
      `${lineOf('policy: policy.json')}: release.policy: policy.json must be inside the config folder (config/), which the bundle ships`,
      `${lineOf('policy: policy.json')}: release.policy: policy.json does not exist (paths are relative to the folder of services.yml)`,
      `${lineOf('context: images/titan-console-app')}: images[3] (titan-console-api).context: images/titan-console-app does not exist (paths are relative to the folder of services.yml)`,
      `${lineOf('titan-opsd:latest')}: images[4] (titan-opsd).image: "titan-opsd:latest" holds a tag or digest: give the repository below the registry only (the release tags and pins it)`,
    ];
    try {
      const [gate, planned, signed] = [await gatekeeper(), await matrix(), await sign()];

      expect(gate.status).toBe(1);
      const findings = (JSON.parse(gate.outputs['findings'] ?? '[]') as Finding[]).filter((f) => f.check === 'source');
      expect(findings.map((f) => `${f.line ?? ''}: ${f.message}`)).toEqual(expected);
      expect(new Set(findings.map((f) => f.file))).toEqual(new Set([FILE]));
      expect(gate.stdout).toContain(`::error title=gatekeeper%3A source,file=${FILE},line=${lineOf('titan-opsd:latest')}::${FILE}:${lineOf('titan-opsd:latest')}: images[4] (titan-opsd).image:`);
      expect(gate.summary).toContain('| Release source (services.yml) | ❌ failed | 5 |');

      expect(planned.status).toBe(1);
      expect(planned.stdout).toContain(`::error::Configuration error: Input services-file: ${FILE}: has 5 problem(s):%0A${FILE}:${lineOf('signing: true')}: the top level`);
      expect(servicesProblems(planned)).toEqual(expected);

      expect(signed.status).toBe(1);
      expect(signed.stdout).toContain('::error::Configuration error: release source examples/titan: services.yml: has 5 problem(s):%0Aservices.yml:');
      expect(servicesProblems(signed)).toEqual(expected);
    } finally {
      await writeFile(join(workspace, FILE), original);
    }
  });

  it('a badly named migration: the same words from gatekeeper and sign', async () => {
    const migrations = join(workspace, 'examples/titan/migrations');
    await rename(join(migrations, '0003_risk_and_audit.sql'), join(migrations, '0003-risk-and-audit.sql'));
    try {
      const [gate, signed] = [await gatekeeper(), await sign()];
      expect(gate.status).toBe(1);
      const findings = (JSON.parse(gate.outputs['findings'] ?? '[]') as Finding[]).filter((f) => f.check === 'migrations');
      expect(findings.map((f) => `${f.file ?? ''}: ${f.message}`)).toEqual(['examples/titan/migrations/0003-risk-and-audit.sql: 0003-risk-and-audit.sql is not a migration named NNNN_name.sql']);
      expect(signed.status).toBe(1);
      expect(signed.stdout).toContain(
        '::error::Configuration error: release source examples/titan: migrations: has 1 problem(s):%0Amigrations/0003-risk-and-audit.sql: 0003-risk-and-audit.sql is not a migration named NNNN_name.sql. Rename it NNNN_short_name.sql',
      );
    } finally {
      await rename(join(migrations, '0003-risk-and-audit.sql'), join(migrations, '0003_risk_and_audit.sql'));
    }
  });
});
