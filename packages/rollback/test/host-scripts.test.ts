import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ORDERLY_STOP_SCRIPT } from '@titan/rollback/orderly-stop';

const dir = mkdtempSync(join(tmpdir(), 'titan-rollback-scripts-'));
const brainImage = resolve(import.meta.dirname, '../../../examples/titan/images/titan-brain');

function shellcheck(file: string): string {
  const run = spawnSync('shellcheck', ['-x', '-s', 'sh', '-S', 'style', file], { encoding: 'utf8' });
  return `${run.stdout}${run.stderr}${run.status === 0 ? '' : `exit ${run.status}`}`;
}

describe('shell that runs on the host or in the titan-brain stand-in', () => {
  it('has shellcheck on this machine', () => {
    expect(execFileSync('shellcheck', ['--version'], { encoding: 'utf8' })).toContain('ShellCheck');
  });

  for (const [name, text] of Object.entries({ ORDERLY_STOP_SCRIPT })) {
    it(`${name} is POSIX sh, set -eu, shellcheck-clean`, () => {
      expect(text.startsWith('set -eu\n')).toBe(true);
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, `#!/bin/sh\n${text}`);
      expect(shellcheck(file)).toBe('');
      expect(spawnSync('dash', ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
    });
  }

  for (const name of ['entrypoint.sh', 'halt-responder.sh', 'nats-session.sh', 'hmac-sha256.sh']) {
    it(`images/titan-brain/${name} is shellcheck-clean (sh)`, () => {
      expect(shellcheck(join(brainImage, name))).toBe('');
    });
  }
});
