/**
 * Every action leaves a job summary however it ends: each committed bundle, run as a runner runs it
 * with no inputs at all (so it fails before doing anything, a ConfigurationError), writes one that
 * says it failed and why.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, runActionBundle } from '@titan/test-host/action-run';

/** Every action folder (action.yml at depth one or two, as scripts/actions.mjs finds them) with a committed bundle. */
const dirs = readdirSync(REPOSITORY_ROOT)
  .filter((top) => top.startsWith('action-'))
  .flatMap((top) => [top, ...readdirSync(join(REPOSITORY_ROOT, top)).map((sub) => `${top}/${sub}`)])
  .filter((dir) => existsSync(join(REPOSITORY_ROOT, dir, 'action.yml')) && existsSync(join(REPOSITORY_ROOT, dir, 'dist', 'index.js')))
  .sort();

describe('the job summary of a run that fails before it starts', () => {
  it('covers every action', () => {
    expect(dirs.length).toBeGreaterThanOrEqual(6);
  });

  for (const name of dirs) {
    it(`${name}: written, saying it failed and why`, async () => {
      const run = await runActionBundle(name, { timeoutMs: 60_000 });
      expect(run.status).toBe(1);
      expect(run.summary).toMatch(/^## ❌ .+ failed/m);
      expect(run.summary).toContain('Configuration error: ');
    });
  }
});
