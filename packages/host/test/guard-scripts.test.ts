/**
 * The guard's scripts run for real in a temporary application folder, with a stub `docker` on PATH
 * that records how it was called: the return plan from each state a deploy can leave (reverted,
 * refused, returned, restored, nothing, under a halt), and a detached guard that acts by itself once
 * its confirm window passes or its deploy's lock session is gone, or stands down when confirmed.
 */
import { existsSync, mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type GuardPlan, planValues } from '@titan/host/guard';
import { hostScript } from '@titan/host/host-script';
import { lastRecord, recordsOf } from '@titan/host/host-record';
import { parseJournal } from '@titan/host/journal';
import { type LocalHost, localHost } from './support/local-host.js';

const A = '20261201T100000Z-aaaaaaaaaaaa';
const B = '20261201T110000Z-bbbbbbbbbbbb';
const VERIFIES = 'echo "verified $3 trust/release.pem"';
const REVOKED = 'echo "verify-release: manifest.json names key k2, which is revoked" >&2; exit 3';

let host: LocalHost;
afterEach(() => host.remove());

/** A host where B was deployed over A: both installed, `current` -> `current`, B's plan written. */
function deployedOver(current: string, plan: Partial<GuardPlan> = {}): LocalHost {
  host = localHost('titan-guard-');
  for (const id of [A, B]) mkdirSync(host.layout.releaseDir(id));
  symlinkSync(host.layout.currentTarget(current), host.layout.current);
  const full: GuardPlan = {
    project: 'titan',
    release: B,
    previous: A,
    previousComposeFiles: ['docker-compose.yml', 'docker-compose.digests.yml'],
    stopServices: ['titan-hunter'],
    mode: 'DISARMED',
    heldServices: ['titan-hunter'],
    journalFields: { actor: 'octo', runUrl: 'https://ci/runs/7', action: 'deploy' },
    ...plan,
  };
  writeFileSync(host.layout.guardFile(full.release, 'plan'), `${planValues(full).join('\n')}\n`);
  // docker ps names one container per service asked for; compose config lists the release's services.
  host.stub(
    'docker',
    [
      'echo "TITAN_MODE=${TITAN_MODE:-}" >> "$0.modes"',
      'case "$1" in',
      '  ps) for a in "$@"; do case $a in label=com.docker.compose.service=*) echo "id-${a##*=}" ;; esac; done ;;',
      '  compose) for a in "$@"; do if [ "$a" = config ]; then printf "postgres\\ntitan-hunter\\n"; fi; done ;;',
      'esac',
    ].join('\n'),
  );
  return host;
}

function revert(verify = VERIFIES, release = B): ReturnType<LocalHost['run']> {
  return host.run('titan-revert', [release, 'guard', JSON.stringify('its deploy ended without confirming it'), verify]);
}

function compose(subcommand: string): string {
  const files = `-f ${host.layout.current}/docker-compose.yml -f ${host.layout.current}/docker-compose.digests.yml`;
  return `docker compose -p titan --project-directory ${host.layout.current} ${files} --env-file ${host.layout.envFile} ${subcommand}`;
}

describe('the return plan (titan-revert)', () => {
  it('after the switch: stops what changed, flips current back, starts the previous release DISARMED, marks the new one bad, journals it', () => {
    deployedOver(B);
    const run = revert();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(lastRecord(run.stdout, 'outcome')).toEqual(['reverted']);
    expect(run.stdout).toContain(`revert: releases/${A} verified again (verified ${A} trust/release.pem)`);
    expect(readlinkSync(host.layout.current)).toBe(host.layout.currentTarget(A));
    expect(host.calls('docker')).toContain('docker stop id-titan-hunter');
    expect(host.calls('docker')).toContain(compose('up -d --remove-orphans'));
    expect(host.read(`${host.bin}/docker.modes`)).toContain('TITAN_MODE=DISARMED');
    expect(host.read(host.layout.stateFile('mode'))).toBe('DISARMED\n');
    expect(JSON.parse(host.read(host.layout.badMark(B)))).toMatchObject({ release: B, reason: 'its deploy ended without confirming it' });
    expect(existsSync(host.layout.guardFile(B, 'plan'))).toBe(false);
    const text = host.read(host.layout.journal);
    const [line] = parseJournal(text);
    expect(Object.keys(line ?? {}).slice(0, 3)).toEqual(['time', 'action', 'result']);
    expect(line).toMatchObject({ action: 'deploy', result: 'reverted-by-guard', release: B, previous: A, mode: 'DISARMED', actor: 'octo', runUrl: 'https://ci/runs/7' });
  });

  it('a previous release that no longer verifies is not returned to: refused, exit 1, nothing stopped, the new release stays current', () => {
    deployedOver(B);
    const run = revert(REVOKED);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`revert: releases/${A} no longer verifies against trust/ (manifest.json names key k2, which is revoked)`);
    expect(lastRecord(run.stdout, 'outcome')).toEqual(['refused']);
    expect(readlinkSync(host.layout.current)).toBe(host.layout.currentTarget(B));
    expect(host.calls('docker')).toEqual([]);
    expect(existsSync(host.layout.badMark(B))).toBe(false);
    expect(parseJournal(host.read(host.layout.journal))[0]).toMatchObject({ result: 'refused-by-guard', reason: `releases/${A} no longer verifies: manifest.json names key k2, which is revoked` });
  });

  it('the running release deployed again: started again DISARMED, not marked bad (returned)', () => {
    deployedOver(B, { previous: B });
    const run = revert();
    expect(run.status, run.stderr).toBe(0);
    expect(lastRecord(run.stdout, 'outcome')).toEqual(['returned']);
    expect(readlinkSync(host.layout.current)).toBe(host.layout.currentTarget(B));
    expect(host.calls('docker')).toEqual([
      'docker ps -q --filter label=com.docker.compose.project=titan --filter label=com.docker.compose.service=titan-hunter',
      'docker stop id-titan-hunter',
      compose('up -d --remove-orphans'),
    ]);
    expect(existsSync(host.layout.badMark(B))).toBe(false);
  });

  it('before the switch: the services the deploy stopped are started again as they were (restored)', () => {
    deployedOver(A);
    const run = revert();
    expect(run.status, run.stderr).toBe(0);
    expect(lastRecord(run.stdout, 'outcome')).toEqual(['restored']);
    expect(host.calls('docker')).toEqual([compose('up -d --no-recreate')]);
    expect(parseJournal(host.read(host.layout.journal))[0]).toMatchObject({ result: 'restored-by-guard', release: B });
  });

  it("under an operator's halt, the held services are never started, not even as a dependency", () => {
    deployedOver(B);
    writeFileSync(host.layout.stateFile('halted'), '{"nonce":"00aa"}\n');
    const run = revert();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('titan-hunter stay stopped');
    expect(host.calls('docker')).toContain(compose('up -d --no-deps --remove-orphans postgres'));
    expect(host.calls('docker').filter((c) => c.includes(' up '))).toHaveLength(1);
  });

  it('does nothing when the release was confirmed meanwhile, when current moved on, or without a plan', () => {
    deployedOver(B);
    writeFileSync(host.layout.confirmedMark(B), '{}\n');
    expect(lastRecord(revert().stdout, 'outcome')).toEqual(['nothing']);
    rmSync(host.layout.confirmedMark(B));
    expect(lastRecord(revert().stdout, 'outcome')).toEqual(['nothing']);
    expect(host.calls('docker')).toEqual([]);
    expect(existsSync(host.layout.journal)).toBe(false);
  });

  it('a recovery (by: "") leaves the journal to its caller', () => {
    deployedOver(B);
    const run = host.run('titan-revert', [B, '', '"recovered"', VERIFIES]);
    expect(lastRecord(run.stdout, 'outcome')).toEqual(['reverted']);
    expect(existsSync(host.layout.journal)).toBe(false);
  });
});

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return what();
}

function startGuard(timeoutSeconds: number): ReturnType<LocalHost['run']> {
  const values = host.read(host.layout.guardFile(B, 'plan')).trimEnd().split('\n');
  return host.run('titan-start-guard', [hostScript('titan-guard'), hostScript('titan-revert'), VERIFIES, B, A, String(timeoutSeconds), ...values]);
}

describe('the detached guard (titan-start-guard, titan-guard)', () => {
  it('returns the host by itself once its confirm window passed, taking the deploy lock, and journals why', async () => {
    deployedOver(B);
    const started = startGuard(1);
    expect(started.status, started.stderr).toBe(0);
    const [record] = recordsOf(started.stdout, 'guard');
    expect(JSON.parse(record?.[0] ?? '{}')).toMatchObject({ release: B, previous: A, session: '' });
    expect(await until(() => existsSync(host.layout.badMark(B)), 15_000)).toBe(true);
    expect(await until(() => !existsSync(host.layout.guardFile(B, 'json')), 5_000)).toBe(true);
    expect(readlinkSync(host.layout.current)).toBe(host.layout.currentTarget(A));
    expect(parseJournal(host.read(host.layout.journal))[0]).toMatchObject({ result: 'reverted-by-guard', reason: 'not confirmed within 1 s' });
    expect(host.read(host.layout.guardFile(B, 'log'))).toContain('guard: ');
    expect(existsSync(host.layout.lockHolderFile)).toBe(false);
  });

  it('acts as soon as the lock holder no longer names its deploy session', async () => {
    deployedOver(B);
    writeFileSync(host.layout.lockHolderFile, '{"pid":1,"pgid":1,"heartbeatTimeout":60,"token":"0123456789abcdef01234567","runUrl":""}\n');
    expect(startGuard(600).status).toBe(0);
    expect(JSON.parse(host.read(host.layout.guardFile(B, 'json')))).toMatchObject({ session: '0123456789abcdef01234567' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(existsSync(host.layout.badMark(B))).toBe(false);
    rmSync(host.layout.lockHolderFile);
    expect(await until(() => existsSync(host.layout.badMark(B)), 15_000)).toBe(true);
    expect(await until(() => existsSync(host.layout.journal), 5_000)).toBe(true);
    expect(parseJournal(host.read(host.layout.journal))[0]).toMatchObject({ result: 'reverted-by-guard', reason: 'its deploy ended without confirming it' });
  });

  it('stands down when the release is confirmed: nothing is changed', async () => {
    deployedOver(B);
    expect(startGuard(600).status).toBe(0);
    const confirm = host.run('titan-confirm', [B, '{"release":"x"}', 'ARMED']);
    expect(confirm.status, confirm.stderr).toBe(0);
    expect(recordsOf(confirm.stdout, 'guard-stopped')).toHaveLength(1);
    expect(await until(() => host.read(host.layout.guardFile(B, 'log')).includes('guard: '), 5_000)).toBe(true);
    expect(readlinkSync(host.layout.current)).toBe(host.layout.currentTarget(B));
    expect(host.calls('docker')).toEqual([]);
  });
});
