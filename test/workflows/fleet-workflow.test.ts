import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { startGitHubApiStandIn, type GitHubApiStandIn } from '@titan/workflow-runner/github-api';
import type { LocalGitHub } from '@titan/workflow-runner/local-github';
import type { RunResult } from '@titan/workflow-runner/run-model';
import { testHostGitHub } from '@titan/workflow-runner/test-host-github';
import { currentOf, type FleetTestHost, hostsInput, journalLines, signFleetRelease, startFleet, stopFleet, testHost } from '../../packages/fleet/test/support/fleet-fixture.js';

/**
 * The README's multi-host workflow (examples/workflows/titan-fleet.yml), read from its file by
 * GitHub's own parser and run by the local workflow runner against 5 real SSH hosts on this machine
 * (scripts/test-host/fleet-hosts): a run that signed a release keeps it as its `release-bundle`
 * artifact (as deploy.yml does); the fleet workflow downloads it, deploys it to every host of the
 * `fleet` environment in rolling batches and verifies every host.
 */
const FLEET_WORKFLOW = join(REPOSITORY_ROOT, 'examples/workflows/titan-fleet.yml');

/** A run that keeps a signed bundle as its release-bundle artifact, as deploy.yml's sign job does. */
const SIGNED_RUN = `name: signed
on:
  workflow_dispatch:
    inputs:
      bundle:
        type: string
        required: true
permissions: {}
jobs:
  keep:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/upload-artifact@v7
        with:
          name: release-bundle
          path: \${{ inputs.bundle }}
          if-no-files-found: error
          retention-days: 90
`;

function explain(run: RunResult): string {
  return `run ${run.runId} ${run.conclusion}; chain errors: ${JSON.stringify(run.chainErrors)}\n${run.log.slice(-80).join('\n')}`;
}

describe('titan-fleet.yml, run from its file against 5 SSH hosts', () => {
  let fleet: FleetTestHost[] = [];
  let api: GitHubApiStandIn;
  let github: LocalGitHub;
  let scratch = '';

  beforeAll(async () => {
    fleet = startFleet(5);
    api = await startGitHubApiStandIn();
    scratch = mkdtempSync(join(tmpdir(), 'titan-fleet-workflow-'));
    github = testHostGitHub({
      host: testHost,
      api,
      scratch,
      environments: { fleet: { vars: { TITAN_FLEET_HOSTS: hostsInput(fleet) }, secrets: { TITAN_SSH_KEY: readFileSync(testHost.privateKeyPath, 'utf8') } } },
    });
  }, 300_000);
  afterAll(async () => {
    stopFleet(fleet);
    await api.close();
  });

  it('rolls the signed release out to every host behind the first, verifies each; a row per host in the summary', async () => {
    const bundle = await signFleetRelease();
    const release = bundle.manifest.releaseId;
    // The bundle folder is named by its release id, as sign writes it under its output.
    const named = join(mkdtempSync(join(tmpdir(), 'titan-fleet-signed-')), release);
    cpSync(bundle.dir, named, { recursive: true });
    // ...and each file of the artifact sits at its root, as deploy.yml's upload of that folder stores it.
    const signedFile = join(scratch, 'signed.yml');
    writeFileSync(signedFile, SIGNED_RUN);
    const signed = await github.run({ workflow: signedFile, event: 'workflow_dispatch', inputs: { bundle: named } });
    expect(signed.conclusion, explain(signed)).toBe('success');

    const run = await github.run({ workflow: FLEET_WORKFLOW, event: 'workflow_dispatch', inputs: { release, 'run-id': String(signed.runId), 'batch-size': 2 } });
    expect(run.conclusion, explain(run)).toBe('success');
    for (const host of fleet) {
      expect(currentOf(host), host.name).toBe(release);
      expect(journalLines(host).map((l) => [l.action, l.result, l.release]), host.name).toEqual([['deploy', 'deployed', release]]);
    }
    const leg = run.jobs['rollout']?.legs[0];
    const deploy = leg?.steps.find((s) => s.name === 'Rolling deploy to every host');
    const rows = JSON.parse(deploy?.outputs['hosts'] ?? '[]') as { name: string; batch: number; result: string }[];
    expect(rows.map((r) => [r.name, r.batch, r.result])).toEqual([
      ['fleet01', 1, 'deployed'],
      ['fleet02', 2, 'deployed'],
      ['fleet03', 2, 'deployed'],
      ['fleet04', 3, 'deployed'],
      ['fleet05', 3, 'deployed'],
    ]);
    const verify = leg?.steps.find((s) => s.name === 'Verify every host');
    expect(verify?.outputs['healthy']).toBe('true');
    const summary = leg?.summary ?? '';
    expect(summary).toContain(`release ${release} on 5 of 5 hosts`);
    expect(summary).toContain('✅ Verified: 5 of 5 hosts healthy');
    for (const host of fleet) expect(summary.split('\n').filter((l) => l.startsWith(`| ${host.name} |`)), host.name).toHaveLength(2);
    expect(run.log.join('\n')).not.toContain(readFileSync(testHost.privateKeyPath, 'utf8').split('\n')[1] ?? 'no key line');
  });
});
