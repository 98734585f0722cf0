import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIRM_SCRIPT, GUARD_SCRIPT_NAME, STOP_GUARD_SCRIPT } from '@titan/host/guard-scripts';

// The confirmation races the guard: the guard looks for state/<id>.confirmed once a second and
// removes its own record when it finds it, which can fall between the confirm script's test for the
// record and its read of it. These tests run the real scripts in a temporary application folder.
const release = '20261201T120000Z-0123456789ab';

function appDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'titan-guard-confirm-'));
  mkdirSync(join(dir, 'state'));
  return dir;
}

function writeRecord(dir: string, pid: number): void {
  writeFileSync(join(dir, 'state', `guard-${release}.json`), `{"release":"${release}","previous":"","pid":${pid},"startedAt":1,"deadline":2,"session":""}\n`);
  writeFileSync(join(dir, 'state', `guard-${release}.plan`), 'project\n');
}

/** A PATH whose `sed` first removes the guard's record, as the guard does when it sees the confirmation. */
function pathWhereTheGuardStopsFirst(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const realSed = spawnSync('sh', ['-c', 'command -v sed'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(bin, 'sed'), `#!/bin/sh\nfor a in "$@"; do case $a in state/guard-*.json) rm -f "$a" ;; esac; done\nexec ${realSed} "$@"\n`);
  chmodSync(join(bin, 'sed'), 0o755);
  return `${bin}:${process.env['PATH'] ?? ''}`;
}

function confirm(dir: string, env: NodeJS.ProcessEnv = process.env): ReturnType<typeof spawnSync> {
  return spawnSync('sh', ['-c', CONFIRM_SCRIPT, 'titan-confirm', dir, release, `{"release":"${release}"}`, 'ARMED'], { encoding: 'utf8', env });
}

describe('confirming a release while its guard stops by itself', () => {
  it('a record the guard removes between the look and the read: the confirmation stands, exit 0', () => {
    const dir = appDir();
    writeRecord(dir, 999_999);
    const run = confirm(dir, { ...process.env, PATH: pathWhereTheGuardStopsFirst(dir) });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readFileSync(join(dir, 'state', `${release}.confirmed`), 'utf8')).toBe(`{"release":"${release}"}\n`);
    expect(readFileSync(join(dir, 'state', 'mode'), 'utf8')).toBe('ARMED\n');
    expect(existsSync(join(dir, 'state', `guard-${release}.json`))).toBe(false);
    expect(existsSync(join(dir, 'state', `guard-${release}.plan`))).toBe(false);
  });

  it('a guard still running is stopped (SIGTERM), by its command line, and its record and plan go', async () => {
    const dir = appDir();
    const guard = spawn('sh', ['-c', 'sleep 30', GUARD_SCRIPT_NAME], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => guard.once('exit', (_code, signal) => resolve(signal)));
    writeRecord(dir, guard.pid ?? 0);
    const run = confirm(dir);
    expect(run.status, String(run.stderr)).toBe(0);
    expect(run.stdout).toBe(`stopped guard ${guard.pid}\n`);
    expect(await exited).toBe('SIGTERM');
    expect(existsSync(join(dir, 'state', `guard-${release}.json`))).toBe(false);
  });

  it('stop-guard with no record (the guard already gone) does nothing and exits 0', () => {
    const dir = appDir();
    const run = spawnSync('sh', ['-c', STOP_GUARD_SCRIPT, 'titan-stop-guard', dir, release], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
  });
});
