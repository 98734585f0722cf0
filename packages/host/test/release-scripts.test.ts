/**
 * The scripts that put releases on the host and read them, run for real in a temporary application
 * folder: install (read-only first, verified, renamed; refused and removed), verify again, the
 * switch of `current`, the release files read back, retention's removal and the host state, each
 * said as records.
 */
import { chmodSync, existsSync, mkdirSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatRecord, recordsOf } from '@titan/host/host-record';
import { parseHostState } from '@titan/host/host-state';
import { EXIT_NOT_VERIFIED } from '@titan/ssh/exit-status';
import { type LocalHost, localHost } from './support/local-host.js';

const A = '20261201T100000Z-aaaaaaaaaaaa';
const B = '20261201T110000Z-bbbbbbbbbbbb';
// The release package's verify script, as the host runs it: $1 folder, $2 trust folder, $3 id.
const VERIFIES = 'test -f "$1/manifest.json" && test -d "$2" && echo "verified $3 release.pem"';
const REFUSES = 'echo "verify-release: manifest.sig does not verify against any trusted key" >&2; exit 1';

let host: LocalHost;
afterEach(() => host.remove());

function upload(name: string): string {
  const dir = join(host.layout.releasesDir, name);
  mkdirSync(join(dir, 'config'), { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), '{}');
  writeFileSync(join(dir, 'config', 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'config', 'run.sh'), 0o6777);
  return dir;
}

describe('titan-install-release and titan-verify-release', () => {
  it('installs a folder that verifies: read-only for everyone (no setuid, setgid, sticky), renamed, the verdict as a record', () => {
    host = localHost('titan-release-');
    const partial = `.${B}.partial-0a1b2c`;
    upload(partial);
    const run = host.run('titan-install-release', [partial, B], { stdin: VERIFIES });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${formatRecord('verified', `verified ${B} release.pem`)}\n`);
    expect(existsSync(join(host.layout.releasesDir, partial))).toBe(false);
    expect(statSync(join(host.layout.releaseDir(B), 'config', 'run.sh')).mode & 0o7777).toBe(0o555);
    expect(statSync(host.layout.releaseDir(B)).mode & 0o777).toBe(0o555);
    const again = host.run('titan-verify-release', [B], { stdin: VERIFIES });
    expect(again.status).toBe(0);
    expect(recordsOf(again.stdout, 'verified')).toEqual([[`verified ${B} release.pem`]]);
  });

  it('a folder that does not verify is removed, EXIT_NOT_VERIFIED, with the reason on stderr', () => {
    host = localHost('titan-release-');
    const partial = `.${B}.partial-0a1b2c`;
    upload(partial);
    const run = host.run('titan-install-release', [partial, B], { stdin: REFUSES });
    expect(run.status).toBe(EXIT_NOT_VERIFIED);
    expect(run.stderr).toBe('verify-release: manifest.sig does not verify against any trusted key\n');
    expect(run.stdout).toBe('');
    expect(existsSync(join(host.layout.releasesDir, partial))).toBe(false);
    expect(existsSync(host.layout.releaseDir(B))).toBe(false);
    upload(B);
    const again = host.run('titan-verify-release', [B], { stdin: REFUSES });
    expect(again.status).toBe(EXIT_NOT_VERIFIED);
    expect(existsSync(host.layout.releaseDir(B))).toBe(true);
  });

  it('an installed folder is made read-only; an upload is removed even when read-only', () => {
    host = localHost('titan-release-');
    upload(A);
    expect(host.run('titan-read-only-release', [A]).status).toBe(0);
    expect(statSync(join(host.layout.releaseDir(A), 'manifest.json')).mode & 0o222).toBe(0);
    const partial = `.${B}.partial-ffff`;
    upload(partial);
    host.run('titan-read-only-release', [partial]);
    expect(host.run('titan-remove-partial', [partial]).status).toBe(0);
    expect(existsSync(join(host.layout.releasesDir, partial))).toBe(false);
  });
});

describe('titan-switch-current', () => {
  it('points current at the release (relative), atomically, touches its folder, and says the link', () => {
    host = localHost('titan-release-');
    upload(A);
    utimesSync(host.layout.releaseDir(A), 1000, 1000);
    const run = host.run('titan-switch-current', [A, 'current.tmp-0a0b']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${formatRecord('current', host.layout.currentTarget(A))}\n`);
    expect(readlinkSync(host.layout.current)).toBe(host.layout.currentTarget(A));
    expect(statSync(host.layout.releaseDir(A)).mtimeMs).toBeGreaterThan(1_000_000);
    expect(existsSync(join(host.layout.appDir, 'current.tmp-0a0b'))).toBe(false);
    const missing = host.run('titan-switch-current', [B, 'current.tmp-0c0d']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`${host.layout.releaseDir(B)} does not exist\n`);
    expect(readlinkSync(host.layout.current)).toBe(host.layout.currentTarget(A));
  });
});

describe('titan-read-release-files', () => {
  it('says each file as a `file PATH BASE64` record and each missing one as `missing PATH`', () => {
    host = localHost('titan-release-');
    upload(A);
    writeFileSync(join(host.layout.releaseDir(A), 'docker-compose.yml'), 'services:\n\tx: {}\n');
    const run = host.run('titan-read-release-files', [A, 'docker-compose.yml', 'nope.yml']);
    expect(run.status).toBe(0);
    expect(recordsOf(run.stdout, 'file')).toEqual([['docker-compose.yml', Buffer.from('services:\n\tx: {}\n').toString('base64')]]);
    expect(recordsOf(run.stdout, 'missing')).toEqual([['nope.yml']]);
  });
});

describe('titan-remove-releases', () => {
  it('removes the releases and uploads asked for, with their marks and guard log, never the one current points at', () => {
    host = localHost('titan-release-');
    for (const id of [A, B]) {
      upload(id);
      host.run('titan-read-only-release', [id]);
      writeFileSync(host.layout.confirmedMark(id), '{}');
      writeFileSync(host.layout.guardFile(id, 'log'), '');
    }
    upload(`.${B}.partial-00ff`);
    symlinkSync(host.layout.currentTarget(B), host.layout.current);
    const run = host.run('titan-remove-releases', [`.${B}.partial-00ff`, A, B]);
    expect(run.status, run.stderr).toBe(0);
    expect(recordsOf(run.stdout, 'removed')).toEqual([[A]]);
    expect(run.stderr).toBe(`kept ${B}: it is current\n`);
    expect(existsSync(host.layout.releaseDir(A))).toBe(false);
    expect(existsSync(host.layout.confirmedMark(A))).toBe(false);
    expect(existsSync(host.layout.guardFile(A, 'log'))).toBe(false);
    expect(existsSync(host.layout.releaseDir(B))).toBe(true);
    expect(existsSync(join(host.layout.releasesDir, `.${B}.partial-00ff`))).toBe(false);
  });
});

describe('titan-host-state', () => {
  it('says every fact a deploy reads as records, and parseHostState reads them', () => {
    host = localHost('titan-release-');
    upload(A);
    upload(B);
    upload(`.${B}.partial-00ff`);
    utimesSync(host.layout.releaseDir(A), 1000, 1000);
    symlinkSync(host.layout.currentTarget(A), host.layout.current);
    writeFileSync(host.layout.confirmedMark(A), '{}');
    writeFileSync(host.layout.badMark(B), '{}');
    writeFileSync(join(host.layout.trustDir, 'k1.pem'), '');
    writeFileSync(host.layout.envFile, 'A=1\n', { mode: 0o600 });
    writeFileSync(host.layout.guardFile(B, 'json'), `{"release":"${B}","previous":"${A}","pid":999999,"startedAt":1,"deadline":2,"session":""}\n`);
    writeFileSync(host.layout.stateFile('mode'), 'ARMED\n');
    writeFileSync(host.layout.stateFile('halted'), '{"at":"2026-12-01T10:00:00Z","actor":"octo","runUrl":"","reason":"feed\\tdown","rollbackMode":"stop","nonce":"00ff00ff00ff00ff"}\n');
    const run = host.run('titan-host-state');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const state = parseHostState(run.stdout);
    expect(state.current).toBe(A);
    expect(state.releases).toEqual([
      { id: A, mtime: 1000, bad: false, confirmed: true },
      { id: B, mtime: statSync(host.layout.releaseDir(B)).mtimeMs / 1000 | 0, bad: true, confirmed: false },
    ]);
    expect(state.partials.map((p) => p.name)).toEqual([`.${B}.partial-00ff`]);
    expect(state.trustedKeys).toBe(1);
    expect(state.envFile).toMatchObject({ present: true, mode: 0o600 });
    expect(state.guards).toEqual([{ release: B, previous: A, pid: 999999, startedAt: 1, deadline: 2, alive: false }]);
    expect(state.mode).toBe('ARMED');
    expect(state.halted).toMatchObject({ actor: 'octo', nonce: '00ff00ff00ff00ff', reason: 'feed\tdown' });
    expect(Math.abs(state.now - Date.now() / 1000)).toBeLessThan(60);
  });
});
