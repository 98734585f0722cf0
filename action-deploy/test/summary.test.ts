import { describe, expect, it } from 'vitest';
import type { DeployOutcome } from '@titan/deploy/deploy';
import { planChanges } from '@titan/deploy/change-plan';
import { readComposeView } from '@titan/release/compose-model';
import type { ReleaseManifest } from '@titan/release/manifest';
import type { StackProfile } from '@titan/release/stack-profile';
import { deploySummary } from '../src/summary.js';

/** The two services in the stop order examples/titan's stack.yml gives them. */
const STACK: StackProfile = {
  groups: [
    { name: 'strategies', trading: true, services: ['titan-hunter'] },
    { name: 'brain', trading: true, services: ['titan-brain'] },
  ],
  infrastructure: [],
  health: [],
  policyReporters: [],
  database: { service: 'postgres', name: 'titan', user: 'titan' },
  halt: { subject: 'titan.cmd.sys.halt', responder: 'titan-brain' },
  critical: [],
};

function manifest(hunter: string): ReleaseManifest {
  return {
    releaseId: 'r2',
    compose: ['docker-compose.yml', 'docker-compose.digests.yml'],
    images: {
      'titan-brain': { image: '127.0.0.1:5000/titan/titan-brain', digest: `sha256:${'a'.repeat(64)}` },
      'titan-hunter': { image: '127.0.0.1:5000/titan/titan-phase2-hunter', digest: `sha256:${hunter.repeat(64)}` },
    },
    files: [],
    stack: STACK,
  } as unknown as ReleaseManifest;
}

const compose = readComposeView([{ name: 'docker-compose.yml', text: 'services:\n  titan-brain: {}\n  titan-hunter: {}\n' }]);

function outcome(overrides: Partial<DeployOutcome>): DeployOutcome {
  return {
    result: 'deployed',
    releaseId: 'r2',
    previousReleaseId: 'r1',
    mode: 'DISARMED',
    hostChanged: true,
    reusedRelease: false,
    phases: [
      { name: 'lock', startedAtMs: 0, durationMs: 20, outcome: 'ok' },
      { name: 'verify', startedAtMs: 20, durationMs: 4000, outcome: 'ok' },
    ],
    plan: planChanges({ manifest: manifest('b'), compose }, { manifest: manifest('c'), compose }, { previous: 'DISARMED', next: 'DISARMED' }),
    migrations: { alreadyApplied: 3, applied: [], pending: [] },
    verification: undefined,
    rollbackVerification: undefined,
    removedReleases: [],
    recovered: undefined,
    hostStatus: undefined,
    stoppedIn: undefined,
    error: undefined,
    startedAt: '2026-11-23T10:00:00.000Z',
    durationMs: 4020,
    ...overrides,
  };
}

describe('the deploy job summary', () => {
  it('shows the outcome, the mode in bold, every service with its digest and whether it changed, and the timeline', () => {
    const text = deploySummary(outcome({}), { host: 'droplet', appDir: '/opt/titan', project: 'titan' }).toMarkdown();
    expect(text).toContain('## ✅ Deployed: release r2 on droplet');
    expect(text).toContain('Mode: **DISARMED**');
    expect(text).toContain('| titan-hunter | titan-phase2-hunter@sha256:cccccccccccc | yes | image | titan-phase2-hunter@sha256:bbbbbbbbbbbb |');
    expect(text).toContain('| titan-brain | titan-brain@sha256:aaaaaaaaaaaa | no |  | same |');
    expect(text).toContain('1 of 2 services change');
    expect(text).toContain('| ✅ verify | +0.02 s | 4.00 s |');
  });

  it('says what went wrong and that the host was left alone when the deploy was refused', () => {
    const text = deploySummary(
      outcome({ result: 'failed', hostChanged: false, plan: undefined, error: new Error('The host refused release r2: manifest.sig does not verify\nmore') }),
      { host: 'droplet', appDir: '/opt/titan', project: 'titan' },
    ).toMarkdown();
    expect(text).toContain('## ❌ Deploy failed: release r2 on droplet');
    expect(text).toContain('unchanged: the deploy was refused before it changed anything');
    expect(text).toContain('The host refused release r2: manifest.sig does not verify');
    expect(text).toContain('<details><summary>full message</summary>');
  });

  it('a cancelled deploy says so, where it was cancelled and what the host is left in', () => {
    const text = deploySummary(
      outcome({
        result: 'cancelled',
        stoppedIn: 'migrate',
        hostStatus: 'release r1 runs as before: what this deploy had stopped was started again',
        error: new Error('The run was cancelled (SIGINT) during migrate.'),
      }),
      { host: 'droplet', appDir: '/opt/titan', project: 'titan' },
    ).toMarkdown();
    expect(text).toContain('## ⏹️ Deploy cancelled: release r2 on droplet');
    expect(text).toContain('| **host now** | release r1 runs as before: what this deploy had stopped was started again |');
    expect(text).toContain('| **cancelled during** | migrate |');
    expect(text).toContain('The run was cancelled (SIGINT) during migrate.');
  });
});
