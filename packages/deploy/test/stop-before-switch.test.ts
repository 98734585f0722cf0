import { describe, expect, it } from 'vitest';
import type { ChangePlan, ChangeReason } from '@titan/deploy/change-plan';
import { stopsBeforeSwitch } from '@titan/deploy/stop-before-switch';

function plan(changes: Record<string, ChangeReason[]>, groups: string[][]): ChangePlan {
  return {
    services: Object.entries(changes).map(([service, reasons]) => ({ service, reasons, image: '', titan: true })),
    changed: Object.keys(changes),
    stopBeforeSwitch: groups,
    restartAfterSwitch: [],
    stopBeforeRevert: groups.flat(),
  };
}

describe('which changed Titan services the deploy stops itself before the switch', () => {
  it('none when no migration is pending and one group changes by image or definition: Compose recreates them at the start', () => {
    expect(stopsBeforeSwitch(plan({ 'titan-hunter': ['image'] }, [['titan-hunter']]), 0)).toEqual({ groups: [], recreatedAtStart: ['titan-hunter'] });
    expect(stopsBeforeSwitch(plan({ 'titan-hunter': ['definition'], 'titan-scavenger': ['mode'] }, [['titan-hunter', 'titan-scavenger']]), 0).recreatedAtStart).toEqual(['titan-hunter', 'titan-scavenger']);
  });

  it('the ordered stop with a migration pending, with two groups changing, or for a service whose mounted files alone change', () => {
    const hunter = plan({ 'titan-hunter': ['image'] }, [['titan-hunter']]);
    expect(stopsBeforeSwitch(hunter, 1)).toEqual({ groups: [['titan-hunter']], recreatedAtStart: [] });
    const two = plan({ 'titan-hunter': ['image'], 'titan-brain': ['image'] }, [['titan-hunter'], ['titan-brain']]);
    expect(stopsBeforeSwitch(two, 0).groups).toEqual([['titan-hunter'], ['titan-brain']]);
    const files = plan({ 'titan-hunter': ['files'] }, [['titan-hunter']]);
    expect(stopsBeforeSwitch(files, 0).groups).toEqual([['titan-hunter']]);
  });
});
