import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatRecord } from '@titan/host/host-record';
import { localHost } from './support/local-host.js';

// The confirmation races the guard: the guard looks for its release's confirmation once a second
// and removes its own record when it finds it, which can fall between the confirm script's test for
// the record and its read of it. These tests run the real scripts in a temporary application folder.
const release = '20261201T120000Z-0123456789ab';

function hostWithGuard(pid: number): ReturnType<typeof localHost> {
  const host = localHost('titan-guard-confirm-');
  writeFileSync(host.layout.guardFile(release, 'json'), `{"release":"${release}","previous":"","pid":${pid},"startedAt":1,"deadline":2,"session":""}\n`);
  writeFileSync(host.layout.guardFile(release, 'plan'), 'project\n');
  return host;
}

describe('confirming a release while its guard stops by itself', () => {
  it('a record the guard removes between the look and the read: the confirmation stands, exit 0', () => {
    const host = hostWithGuard(999_999);
    // A `sed` that first removes the guard's record, as the guard does when it sees the confirmation.
    host.stub('sed', `for a in "$@"; do case $a in */guard-*.json) rm -f "$a" ;; esac; done\nexec /bin/sed "$@"`);
    const run = host.run('titan-confirm', [release, `{"release":"${release}"}`, 'ARMED']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(host.read(host.layout.confirmedMark(release))).toBe(`{"release":"${release}"}\n`);
    expect(host.read(host.layout.stateFile('mode'))).toBe('ARMED\n');
    expect(existsSync(host.layout.guardFile(release, 'json'))).toBe(false);
    expect(existsSync(host.layout.guardFile(release, 'plan'))).toBe(false);
    host.remove();
  });

  it('a guard still running is stopped (SIGTERM), by its command line, and its record and plan go', async () => {
    const guard = spawn('sh', ['-c', 'sleep 30', 'titan-guard'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => guard.once('exit', (_code, signal) => resolve(signal)));
    const host = hostWithGuard(guard.pid ?? 0);
    writeFileSync(host.layout.badMark(release), '{}\n');
    const run = host.run('titan-confirm', [release, `{"release":"${release}"}`, 'DISARMED']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${formatRecord('guard-stopped', String(guard.pid))}\n`);
    expect(await exited).toBe('SIGTERM');
    expect(existsSync(host.layout.guardFile(release, 'json'))).toBe(false);
    expect(existsSync(host.layout.badMark(release))).toBe(false);
    host.remove();
  });

  it('stop-guard with no record (the guard already gone) does nothing and exits 0', () => {
    const host = localHost('titan-guard-confirm-');
    const run = host.run('titan-stop-guard', [release]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    host.remove();
  });

  it('a pid that is not a guard (reused) is left alone: only the record and plan go', () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    const host = hostWithGuard(other.pid ?? 0);
    const run = host.run('titan-stop-guard', [release]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(other.exitCode).toBeNull();
    expect(other.killed).toBe(false);
    expect(existsSync(host.layout.guardFile(release, 'plan'))).toBe(false);
    other.kill();
    host.remove();
  });
});
