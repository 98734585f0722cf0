import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsOfRun } from '@titan/workflow-runner/artifact-store';
import { ConcurrencyCancelled, ConcurrencyGroups } from '@titan/workflow-runner/concurrency';
import { startGitHubApiStandIn, type GitHubApiStandIn } from '@titan/workflow-runner/github-api';
import { LocalGitHub } from '@titan/workflow-runner/local-github';
import { expandStrategy } from '@titan/workflow-runner/matrix-legs';

/**
 * The local runner itself, on small workflows of its own (no test host): what GitHub does that the
 * workflows of this repository rely on, and what the runner refuses that GitHub lets through.
 */
describe('LocalGitHub', () => {
  let api: GitHubApiStandIn;
  let dir: string;
  let github: LocalGitHub;

  beforeAll(async () => {
    api = await startGitHubApiStandIn();
    dir = await mkdtemp(join(tmpdir(), 'titan-local-github-'));
    execFileSync('git', ['init', '-q', join(dir, 'repo')]);
    github = new LocalGitHub({ repository: { root: join(dir, 'repo'), name: 'titan/titan' }, api, scratch: join(dir, 'runs'), secrets: { TOKEN: 'ghp_averysecretvalue123' } });
  });
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function workflow(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it('runs a matrix from a job output, hands files on as artifacts, masks secrets, and reads the job summary', async () => {
    const path = await workflow(
      'matrix.yml',
      `name: matrix
on: { workflow_dispatch: { inputs: { who: { type: string, default: world } } } }
jobs:
  plan:
    runs-on: ubuntu-24.04
    outputs:
      legs: \${{ steps.p.outputs.legs }}
    steps:
      - id: p
        run: echo 'legs={"include":[{"n":"a"},{"n":"b"}]}' >> "$GITHUB_OUTPUT"
  leg:
    name: leg \${{ matrix.n }}
    needs: plan
    runs-on: ubuntu-24.04
    strategy:
      matrix: \${{ fromJSON(needs.plan.outputs.legs) }}
    steps:
      - run: mkdir -p out && echo "\${{ inputs.who }} \${{ matrix.n }}" > "out/\${{ matrix.n }}" && echo "token \${{ secrets.TOKEN }}"
      - uses: actions/upload-artifact@v7
        with: { name: "x-\${{ matrix.n }}", path: out/ }
  gather:
    needs: leg
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/download-artifact@v8
        with: { pattern: "x-*", path: got, merge-multiple: true }
      - run: cat got/a got/b | tee -a "$GITHUB_STEP_SUMMARY"
`,
    );
    const run = await github.run({ workflow: path, event: 'workflow_dispatch', inputs: { who: 'ops' } });
    expect(run.conclusion, run.log.join('\n')).toBe('success');
    expect(run.jobs['leg']?.legs.map((l) => l.name)).toEqual(['leg a', 'leg b']);
    expect(run.jobs['gather']?.legs[0]?.summary).toBe('ops a\nops b\n');
    expect(run.log).toContain('[leg] (leg a) token ***');
    expect(run.log.join('\n')).not.toContain('ghp_averysecretvalue123');
  });

  it("keeps an artifact its retention-days, lists it through the API with its expiry, and no longer hands it out once expired", async () => {
    const path = await workflow(
      'keep.yml',
      `name: keep
on: { workflow_dispatch: {} }
jobs:
  make:
    runs-on: ubuntu-24.04
    steps:
      - run: mkdir -p out && echo signed > out/bundle
      - uses: actions/upload-artifact@v7
        with: { name: kept, path: out/, retention-days: 7 }
`,
    );
    const made = await github.run({ workflow: path, event: 'workflow_dispatch' });
    expect(made.conclusion, made.log.join('\n')).toBe('success');
    const token = api.issueToken({ actions: 'read' }, 'reader');
    const list = async (): Promise<{ name: string; expired: boolean; created_at: string; expires_at: string }[]> => {
      const response = await fetch(`${api.url}/repos/titan/titan/actions/runs/${made.runId}/artifacts?name=kept`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      return ((await response.json()) as { artifacts: { name: string; expired: boolean; created_at: string; expires_at: string }[] }).artifacts;
    };
    const [listed] = await list();
    expect(listed).toMatchObject({ name: 'kept', expired: false });
    expect(Date.parse(listed?.expires_at ?? '') - Date.parse(listed?.created_at ?? '')).toBe(7 * 86_400_000);

    const fetchIt = await workflow(
      'fetch.yml',
      `name: fetch
on: { workflow_dispatch: {} }
permissions: { actions: read }
jobs:
  get:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/download-artifact@v8
        with: { name: kept, path: got, run-id: "${made.runId}", github-token: "\${{ github.token }}" }
      - run: cat got/bundle
`,
    );
    expect((await github.run({ workflow: fetchIt, event: 'workflow_dispatch' })).conclusion).toBe('success');
    // Its days have passed: still listed, expired, and no longer downloadable.
    await (await artifactsOfRun(join(dir, 'runs'), made.runId))?.expire('kept');
    expect((await list())[0]).toMatchObject({ name: 'kept', expired: true });
    const late = await github.run({ workflow: fetchIt, event: 'workflow_dispatch' });
    expect(late.conclusion).toBe('failure');
    expect(late.log.join('\n')).toContain('Artifact not found for name: kept');

    const tooLong = await workflow('long.yml', (await readFile(path, 'utf8')).replace('retention-days: 7', 'retention-days: 400'));
    const refused = await github.run({ workflow: tooLong, event: 'workflow_dispatch' });
    expect(refused.conclusion).toBe('failure');
    expect(refused.log.join('\n')).toContain('retention-days must be a whole number from 1 to 90');
  });

  it('fails the chain on an output no job declares, an input the action does not have, an undefined input', async () => {
    const path = await workflow(
      'chain.yml',
      `name: chain
on: { workflow_dispatch: {} }
jobs:
  a:
    runs-on: ubuntu-24.04
    outputs: { ok: "\${{ steps.s.outputs.ok }}" }
    steps:
      - { id: s, run: echo ok=1 >> "$GITHUB_OUTPUT" }
  b:
    needs: a
    runs-on: ubuntu-24.04
    steps:
      - run: echo "\${{ needs.a.outputs.renamed }}"
  c:
    needs: a
    runs-on: ubuntu-24.04
    steps:
      - run: echo "\${{ inputs.nothing }}"
`,
    );
    const run = await github.run({ workflow: path, event: 'workflow_dispatch' });
    expect(run.conclusion).toBe('failure');
    expect(run.jobs['a']?.result).toBe('success');
    expect(run.chainErrors.join('\n')).toMatch(/needs\.a\.outputs has no "renamed" \(it has ok\)/);
    expect(run.chainErrors.join('\n')).toMatch(/inputs has no "nothing"/);
    const bad = await github.run({ workflow: path, event: 'workflow_dispatch', inputs: { typo: 'x' } });
    expect(bad.chainErrors.join('\n')).toMatch(/Invalid input, typo is not defined/);
  });

  it('skips a job after a skipped one unless it says what it needs, as GitHub does', async () => {
    const path = await workflow(
      'skip.yml',
      `name: skip
on: { workflow_dispatch: {} }
jobs:
  a: { runs-on: ubuntu-24.04, steps: [ { run: "true" } ] }
  b: { needs: a, if: "false", runs-on: ubuntu-24.04, steps: [ { run: "true" } ] }
  c: { needs: b, if: "always()", runs-on: ubuntu-24.04, steps: [ { run: "true" } ] }
  d: { needs: c, runs-on: ubuntu-24.04, steps: [ { run: "true" } ] }
  e: { needs: c, if: "\${{ !cancelled() && needs.c.result == 'success' }}", runs-on: ubuntu-24.04, steps: [ { run: "true" } ] }
`,
    );
    const run = await github.run({ workflow: path, event: 'workflow_dispatch' });
    expect(Object.fromEntries(Object.entries(run.jobs).map(([id, j]) => [id, j.result]))).toEqual({ a: 'success', b: 'skipped', c: 'success', d: 'skipped', e: 'success' });
  });

  it('refuses a third-party action it has no stand-in for, or an older major of one', async () => {
    const path = await workflow(
      'uses.yml',
      `name: uses
on: { workflow_dispatch: {} }
jobs:
  a: { runs-on: ubuntu-24.04, steps: [ { uses: actions/checkout@v4 } ] }
  b: { runs-on: ubuntu-24.04, steps: [ { uses: someone/deploy-anything@v1 } ] }
`,
    );
    const run = await github.run({ workflow: path, event: 'workflow_dispatch' });
    expect(run.jobs['a']?.legs[0]?.steps[0]?.error).toMatch(/implements actions\/checkout@v7, not v4/);
    expect(run.jobs['b']?.legs[0]?.steps[0]?.error).toMatch(/no local equivalent/);
  });
});

describe('matrix expansion', () => {
  it('takes the product of the axes, less exclude, extended or added to by include', () => {
    const strategy = expandStrategy({ matrix: { os: ['a', 'b'], n: [1, 2], exclude: [{ os: 'b', n: 2 }], include: [{ os: 'a', extra: 'x' }, { os: 'c', n: 9 }] } }, 'job');
    expect(strategy?.legs).toEqual([{ os: 'a', n: 1, extra: 'x' }, { os: 'a', n: 2, extra: 'x' }, { os: 'b', n: 1 }, { os: 'c', n: 9 }]);
    expect(() => expandStrategy({ matrix: { include: [] } }, 'build')).toThrow(/does not contain any values/);
  });
});

describe('concurrency groups', () => {
  it('queue max: every newcomer waits its turn, in order; queue single: a newer one cancels the one pending', async () => {
    const groups = new ConcurrencyGroups();
    const order: string[] = [];
    const request = (holder: string, queue: 'max' | 'single') => ({ group: 'g', cancelInProgress: false, queue, holder, cancel: () => order.push(`cancel ${holder}`) });
    const first = await groups.acquire(request('one', 'max'));
    const second = groups.acquire(request('two', 'max')).then((release) => (order.push('two'), release));
    const third = groups.acquire(request('three', 'max')).then((release) => (order.push('three'), release));
    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['two', 'three']);

    const held = await groups.acquire(request('a', 'single'));
    const pending = groups.acquire(request('b', 'single'));
    const newer = groups.acquire(request('c', 'single'));
    await expect(pending).rejects.toBeInstanceOf(ConcurrencyCancelled);
    held();
    (await newer)();
    expect(groups.events).toContain('g: c cancels pending b');
  });
});
