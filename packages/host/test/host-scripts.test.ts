import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SESSION_LOCK_SCRIPT } from '@titan/host/session-lock-script';
import { CONFIRM_SCRIPT, GUARD_SCRIPT, REVERT_SCRIPT, START_GUARD_SCRIPT, STOP_GUARD_SCRIPT } from '@titan/host/guard-scripts';
import { LIFT_HALT_MARK_SCRIPT, WRITE_HALT_MARK_SCRIPT } from '@titan/host/halt-mark';
import { HOST_STATE_SCRIPT } from '@titan/host/host-state';
import { MISSING_IMAGES_SCRIPT, PULL_IMAGES_SCRIPT } from '@titan/host/image-pull';
import { APPEND_JOURNAL_SCRIPT } from '@titan/host/journal';
import { APPLY_MIGRATION_SCRIPT, READ_MIGRATIONS_SCRIPT } from '@titan/host/migrations';
import { READ_RELEASE_FILES_SCRIPT } from '@titan/host/release-files';
import { MARK_BAD_SCRIPT } from '@titan/host/release-marks';
import { INSTALL_RELEASE_SCRIPT, READ_ONLY_RELEASE_SCRIPT, VERIFY_RELEASE_SCRIPT } from '@titan/host/release-install';
import { CHECK_MIGRATION_RECORD_SCRIPT } from '@titan/host/migration-record';
import { REMOVE_RELEASES_SCRIPT } from '@titan/host/retention';
import { UP_EXCEPT_SCRIPT } from '@titan/host/stack-control';
import { RECORD_MODE_SCRIPT } from '@titan/host/stack-mode';
import { READ_STACK_RECORD_SCRIPT, WRITE_STACK_RECORD_SCRIPT } from '@titan/host/stack-record';
import { SWITCH_CURRENT_SCRIPT } from '@titan/host/switch-current';
import { SECRET_FILES_SCRIPT } from '@titan/host/secret-files';

const scripts: Record<string, string> = {
  SESSION_LOCK_SCRIPT,
  WRITE_HALT_MARK_SCRIPT,
  LIFT_HALT_MARK_SCRIPT,
  UP_EXCEPT_SCRIPT,
  RECORD_MODE_SCRIPT,
  READ_STACK_RECORD_SCRIPT,
  WRITE_STACK_RECORD_SCRIPT,
  CONFIRM_SCRIPT,
  GUARD_SCRIPT,
  REVERT_SCRIPT,
  START_GUARD_SCRIPT,
  STOP_GUARD_SCRIPT,
  HOST_STATE_SCRIPT,
  PULL_IMAGES_SCRIPT,
  MISSING_IMAGES_SCRIPT,
  APPEND_JOURNAL_SCRIPT,
  APPLY_MIGRATION_SCRIPT,
  READ_MIGRATIONS_SCRIPT,
  READ_RELEASE_FILES_SCRIPT,
  MARK_BAD_SCRIPT,
  INSTALL_RELEASE_SCRIPT,
  READ_ONLY_RELEASE_SCRIPT,
  CHECK_MIGRATION_RECORD_SCRIPT,
  VERIFY_RELEASE_SCRIPT,
  REMOVE_RELEASES_SCRIPT,
  SWITCH_CURRENT_SCRIPT,
  SECRET_FILES_SCRIPT,
};

describe('host-side shell', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-host-scripts-'));

  it('has shellcheck on this machine', () => {
    expect(execFileSync('shellcheck', ['--version'], { encoding: 'utf8' })).toContain('ShellCheck');
  });

  for (const [name, text] of Object.entries(scripts)) {
    it(`${name} is POSIX sh, set -eu, and shellcheck-clean`, () => {
      expect(text.startsWith('set -eu\n')).toBe(true);
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, `#!/bin/sh\n${text}`);
      const run = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', file], { encoding: 'utf8' });
      expect(run.stdout + run.stderr).toBe('');
      expect(run.status).toBe(0);
      const syntax = spawnSync('dash', ['-n', file], { encoding: 'utf8' });
      expect(syntax.stderr).toBe('');
    });
  }
});
