import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REVERT_SCRIPT } from '@titan/host/guard-scripts';
import { MARK_BAD_PART, MARK_BAD_SCRIPT } from '@titan/host/release-marks';

const RELEASE = '20261123T080000Z-aaaaaaaaaaaa';

/** MARK_BAD_SCRIPT run by dash on this machine, as markReleaseBad runs it on the host. */
function markBad(appDir: string, reason: string): void {
  const run = spawnSync('dash', ['-c', MARK_BAD_SCRIPT, 'titan-mark-bad', appDir, RELEASE, JSON.stringify(reason)], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
}

describe('the bad mark', () => {
  it('is one JSON line {"release","at","reason"}, byte for byte what the JSON encoder writes', () => {
    const appDir = mkdtempSync(join(tmpdir(), 'titan-bad-mark-'));
    const reason = `rolled back by octo: "feed" lost 100% \\ $(touch ${appDir}/pwned) \`id\` é\u2028`;
    markBad(appDir, reason);
    const text = readFileSync(join(appDir, 'state', `${RELEASE}.bad`), 'utf8');
    const mark = JSON.parse(text) as { at: string };
    expect(mark.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(text).toBe(`${JSON.stringify({ release: RELEASE, at: mark.at, reason })}\n`);
    expect(readdirSync(join(appDir, 'state'))).toEqual([`${RELEASE}.bad`]);
    expect(existsSync(join(appDir, 'pwned'))).toBe(false);
  });

  it('replaces an earlier mark', () => {
    const appDir = mkdtempSync(join(tmpdir(), 'titan-bad-mark-'));
    markBad(appDir, 'first');
    markBad(appDir, 'second');
    expect((JSON.parse(readFileSync(join(appDir, 'state', `${RELEASE}.bad`), 'utf8')) as { reason: string }).reason).toBe('second');
  });

  it("is written by the guard's revert with the same shell", () => {
    expect(REVERT_SCRIPT).toContain(MARK_BAD_PART);
  });
});
