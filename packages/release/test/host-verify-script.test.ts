import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_BUNDLE_SCRIPT, runHostScript } from './host-run.js';
import { scratch } from './release-fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await scratch()));
afterAll(async () => cleanup());

describe('the host verification script', () => {
  it('passes shellcheck -s sh with no finding', async () => {
    const file = join(dir, 'verify-release.sh');
    await writeFile(file, CHECK_BUNDLE_SCRIPT);
    const check = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', file], { encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect(check.stdout).toBe('');
    expect(check.status).toBe(0);
  });

  it('explains its usage and missing folders in one line on stderr', async () => {
    const usage = await runHostScript(dir, []);
    expect(usage.status).toBe(1);
    expect(usage.stderr).toBe('verify-release: usage: verify-release BUNDLE_DIR TRUST_DIR [RELEASE_ID]\n');
    const missing = await runHostScript(dir, [join(dir, 'nope'), dir]);
    expect(missing.stderr).toBe(`verify-release: bundle folder ${join(dir, 'nope')} does not exist\n`);
    const noManifest = await runHostScript(dir, [dir, dir]);
    expect(noManifest.stderr).toBe('verify-release: manifest.json is missing or not a regular file\n');
  });
});
