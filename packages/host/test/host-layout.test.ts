import { describe, expect, it } from 'vitest';
import { appDirProblem, HostLayout, projectProblem } from '@titan/host/host-layout';
import { parseLockHolder } from '@titan/host/lock-holder';
import { parseHostState } from '@titan/host/host-state';
import { formatRecord } from '@titan/host/host-record';

describe('app-dir and project', () => {
  it('accepts ordinary values', () => {
    expect(appDirProblem('/opt/titan')).toBeUndefined();
    expect(appDirProblem('/var/tmp/titan-test-host/opt/deploy_flow.2')).toBeUndefined();
    expect(projectProblem('titan')).toBeUndefined();
    expect(projectProblem('titan_prod-2')).toBeUndefined();
  });

  it.each(['opt/titan', '/opt/titan/', '/opt//titan', '/opt/../etc', '/opt/./titan', '/', '/opt/ti tan', '/opt/$(touch x)', '/opt/`id`', "/opt/'x'", '/opt/x;y', ''])(
    'rejects app-dir %j',
    (value) => {
      expect(appDirProblem(value)).toBeDefined();
      expect(() => new HostLayout(value)).toThrow(/not usable/);
    },
  );

  it.each(['Titan', '-titan', 'ti tan', 'titan;id', '$(id)', '', 'a'.repeat(64)])('rejects project %j', (value) => {
    expect(projectProblem(value)).toBeDefined();
  });
});

describe('what the host reports', () => {
  it('a lock holder file', () => {
    expect(parseLockHolder('{"pid":42,"since":"2026-11-23T10:00:00Z","runUrl":"https://x/runs/1","release":"r1","actor":"octo"}\n')).toEqual({
      pid: 42,
      since: '2026-11-23T10:00:00Z',
      runUrl: 'https://x/runs/1',
      release: 'r1',
      actor: 'octo',
    });
    expect(parseLockHolder('{"pid":4')).toBeUndefined();
  });

  it('the host state records', () => {
    const state = parseHostState(
      [
        formatRecord('now', '1000'),
        formatRecord('current', 'releases/r2'),
        formatRecord('release', 'r1', '100', '0', '1'),
        formatRecord('release', 'r2', '200', '0', '0'),
        formatRecord('release', 'bad;id', '300', '0', '0'),
        formatRecord('partial', '.r3.partial-abcdef', '250'),
        formatRecord('trust', '1'),
        formatRecord('env', '600', 'deploy'),
        formatRecord('guard', '1', '{"release":"r2","previous":"r1","pid":77,"startedAt":190,"deadline":490}'),
        formatRecord('mode', 'ARMED'),
        'a line for people, not a record',
        '',
      ].join('\n'),
    );
    expect(state.current).toBe('r2');
    expect(state.releases.map((r) => r.id)).toEqual(['r1', 'r2']);
    expect(state.releases[0]?.confirmed).toBe(true);
    expect(state.partials).toEqual([{ name: '.r3.partial-abcdef', mtime: 250 }]);
    expect(state.trustedKeys).toBe(1);
    expect(state.envFile).toEqual({ present: true, mode: 0o600, owner: 'deploy' });
    expect(state.guards).toEqual([{ release: 'r2', previous: 'r1', pid: 77, startedAt: 190, deadline: 490, alive: true }]);
    expect(state.mode).toBe('ARMED');
    expect(parseHostState(`${formatRecord('current', '/etc')}\n`).strayCurrent).toBe('/etc');
  });
});
