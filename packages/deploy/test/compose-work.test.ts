import { describe, expect, it } from 'vitest';
import type { StackNow } from '@titan/host/stack-record';
import { parseStackNow } from '@titan/host/stack-record';
import { formatRecord } from '@titan/host/host-record';
import type { ChangePlan } from '@titan/deploy/change-plan';
import { composeWork } from '@titan/deploy/compose-work';

const nothing: ChangePlan = { services: [], changed: [], stopBeforeSwitch: [], restartAfterSwitch: [], stopBeforeRevert: [] };
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function read(lines: string[]): StackNow {
  // As scripts/read-stack-record.sh says it: one record a line (the record's own lines are `recorded`).
  return parseStackNow(lines.map((line) => formatRecord(...(line.replace(/^record /, 'recorded ').split(' ') as [string, ...string[]]))).join('\n'));
}

const converged = [`container ${A} running postgres`, `container ${B} running titan-hunter`, 'record release r1', 'record mode DISARMED', `record container ${A} postgres`, `record container ${B} titan-hunter`, 'shared same'];
const running = { release: 'r1', mode: 'DISARMED', lifting: false } as const;

describe('whether Compose has anything to do', () => {
  it('nothing, when no service changes and the containers of the last start of the current release run, same mode, shared/ unchanged', () => {
    const work = composeWork(nothing, read(converged), running);
    expect(work.up).toBe(false);
    expect(work.why).toContain('its 2 containers run as its last start left them');
  });

  it('up, with the reason, for every other case', () => {
    const cases: [string, () => ReturnType<typeof composeWork>][] = [
      ['first release on this host', () => composeWork(nothing, undefined, { ...running, release: undefined })],
      ['1 service(s) change: titan-hunter', () => composeWork({ ...nothing, changed: ['titan-hunter'] }, read(converged), running)],
      ['the halt is lifted', () => composeWork(nothing, read(converged), { ...running, lifting: true })],
      ['no record of the last start', () => composeWork(nothing, read(converged.filter((l) => !l.startsWith('record'))), running)],
      ['last started from release r1, not from r2', () => composeWork(nothing, read(converged), { ...running, release: 'r2' })],
      ['was in mode DISARMED; this deploy starts it ARMED', () => composeWork(nothing, read(converged), { ...running, mode: 'ARMED' })],
      ['shared/ (production values, secrets) changed', () => composeWork(nothing, read(converged.map((l) => (l === 'shared same' ? 'shared changed' : l))), running)],
      ['titan-hunter is exited', () => composeWork(nothing, read(converged.map((l) => l.replace('running titan-hunter', 'exited titan-hunter'))), running)],
      ['the container of titan-hunter that the last start left is gone', () => composeWork(nothing, read(converged.filter((l) => !l.startsWith(`container ${B}`))), running)],
      ['nats has a container the last start did not leave', () => composeWork(nothing, read([...converged, `container ${'c'.repeat(64)} running nats`]), running)],
      ['the stack could not be read', () => composeWork(nothing, undefined, running)],
    ];
    for (const [why, work] of cases) {
      const decided = work();
      expect(decided.up, why).toBe(true);
      expect(decided.why).toContain(why);
    }
  });
});
