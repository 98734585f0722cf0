/**
 * The host scripts as files (packages/host/scripts/*.sh): every one is shellchecked as a file and
 * as the text that is sent (its libraries inlined), is POSIX sh (dash parses it), starts with
 * `set -eu`, exits with named statuses only, and spells no path of the host layout by itself (the
 * TITAN_* variables carry them); the generated module is what the .sh files give.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCRIPT_EXIT_STATUSES } from '@titan/host/host-script';
import { HOST_SCRIPTS, type HostScriptName } from '@titan/host/host-scripts';
import * as exitStatus from '@titan/ssh/exit-status';

const scriptsDir = join(import.meta.dirname, '..', 'scripts');
const files = [
  ...readdirSync(scriptsDir).filter((f) => f.endsWith('.sh')),
  ...readdirSync(join(scriptsDir, 'lib')).map((f) => `lib/${f}`),
];

describe('the host scripts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-host-scripts-'));

  it('has shellcheck on this machine', () => {
    expect(execFileSync('shellcheck', ['--version'], { encoding: 'utf8' })).toContain('ShellCheck');
  });

  it('the generated module is what the .sh files give, one entry per script', () => {
    const check = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'generate-scripts.mjs'), '--check'], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(Object.keys(HOST_SCRIPTS).sort()).toEqual(files.filter((f) => !f.startsWith('lib/')).map((f) => `titan-${f.slice(0, -3)}`).sort());
  });

  it('the files are shellcheck-clean (libraries followed) and POSIX sh', () => {
    const run = spawnSync('shellcheck', ['-x', '-P', 'SCRIPTDIR', '-S', 'style', ...files.map((f) => join(scriptsDir, f))], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  for (const [name, text] of Object.entries(HOST_SCRIPTS) as [HostScriptName, string][]) {
    it(`${name}, as it is sent: set -eu, shellcheck-clean, dash parses it, no library left to source`, () => {
      expect(text.startsWith('set -eu\n')).toBe(true);
      expect(text).not.toContain('TITAN_HOST_LIB');
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, `#!/bin/sh\n${text}`);
      const run = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', file], { encoding: 'utf8' });
      expect(run.stdout + run.stderr).toBe('');
      expect(spawnSync('dash', ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
    });
  }

  it('exit with 0, 1 or a named status, whose value is the one of @titan/ssh/exit-status', () => {
    for (const [key, value] of Object.entries(SCRIPT_EXIT_STATUSES)) expect((exitStatus as Record<string, unknown>)[key]).toBe(value);
    for (const file of files) {
      const text = readFileSync(join(scriptsDir, file), 'utf8')
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('#'))
        .join('\n');
      for (const [, status] of text.matchAll(/(?:^|[;&|{]|\bthen|\belse|\bdo)[ \t]*(?:exit|return)[ \t]+([^\s;}]+)/gm)) {
        // A bare number is 0 or 1; any other status is a name ("$EXIT_..."), or a variable passing one on.
        const ok = !/^\d+$/.test(status ?? '') || status === '0' || status === '1';
        expect(ok, `${file}: exit ${status}`).toBe(true);
        const named = /^"\$(EXIT_[A-Z_]+)"$/.exec(status ?? '')?.[1];
        if (named !== undefined) expect(Object.keys(SCRIPT_EXIT_STATUSES), `${file}: ${named}`).toContain(named);
      }
    }
  });

  it('spell no folder or file of the host layout: those come from the TITAN_* variables', () => {
    for (const file of files) {
      const code = readFileSync(join(scriptsDir, file), 'utf8')
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('#'));
      for (const line of code) {
        expect(line, file).not.toMatch(/(^|[\s"'=(])(releases|state|shared|trust|current)\/|journal\.jsonl|\.deploy\.lock|\.env\.prod/);
      }
    }
  });
});
