import { existsSync, readdirSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { localHost } from './support/local-host.js';

const RELEASE = '20261123T080000Z-aaaaaaaaaaaa';

describe('the bad mark', () => {
  it('is one JSON line {"release","at","reason"}, byte for byte what the JSON encoder writes', () => {
    const host = localHost('titan-bad-mark-');
    const reason = `rolled back by octo: "feed" lost 100% \\ $(touch ${host.root}/pwned) \`id\` é\u2028`;
    const run = host.run('titan-mark-bad', [RELEASE, JSON.stringify(reason)]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const text = host.read(host.layout.badMark(RELEASE));
    const mark = JSON.parse(text) as { at: string };
    expect(mark.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(text).toBe(`${JSON.stringify({ release: RELEASE, at: mark.at, reason })}\n`);
    expect(readdirSync(host.layout.stateDir)).toEqual([`${RELEASE}.bad`]);
    expect(existsSync(`${host.root}/pwned`)).toBe(false);
    host.remove();
  });

  it('replaces an earlier mark, and makes the state folder when there is none', () => {
    const host = localHost('titan-bad-mark-');
    rmSync(host.layout.stateDir, { recursive: true });
    host.run('titan-mark-bad', [RELEASE, '"first"']);
    host.run('titan-mark-bad', [RELEASE, '"second"']);
    expect((JSON.parse(host.read(host.layout.badMark(RELEASE))) as { reason: string }).reason).toBe('second');
    host.remove();
  });
});
