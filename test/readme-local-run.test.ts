import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';

/**
 * The README's "Running an action locally" runs as written: its shell block, run by bash from the
 * repository's root, prints the action's outputs and job summary. (Its first line builds the
 * bundles; the test command has just built and checked them, so that one line is not run again.)
 */
describe('README: running an action locally', () => {
  it('prints the outputs and the job summary of the readiness gate', { timeout: 60_000 }, () => {
    const readme = readFileSync(join(REPOSITORY_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Running an action locally'));
    const block = /```sh\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const lines = (block ?? '').split('\n');
    expect(lines[0]).toMatch(/^npx turbo run bundle\b/);
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', lines.slice(1).join('\n')], { cwd: REPOSITORY_ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ready<<(\S+)\nfalse\n\1$/m);
    expect(run.stdout).toMatch(/^findings<<(\S+)\n\[\{"check":/m);
    expect(run.stdout).toMatch(/Readiness gate/i);
    expect(run.stdout).toMatch(/__CHANGE_ME__|placeholder/i);
  });
});
