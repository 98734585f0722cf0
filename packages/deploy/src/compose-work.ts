/**
 * Whether `docker compose up` has anything to do on this deploy, decided from the change plan and
 * the host's record of the last successful start (state/stack-started, @titan/host/stack-record).
 * Compose does nothing when no service changes against the release `current` points at (images,
 * definitions, mounted files, mode: the change plan), that release is the one last started, in the
 * same mode, shared/ is unchanged since, and every container that start left is there, running, and
 * no other is. Then the deploy skips `up` and its Compose start-up; verification runs as always.
 * Anything else, or any doubt, and `up` runs.
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { StackNow } from '@titan/host/stack-record';
import type { ChangePlan } from './change-plan.js';

export interface ComposeWork {
  /** Run `docker compose up -d --remove-orphans` (and the restarts the plan asks for). */
  readonly up: boolean;
  /** Why, in a sentence. */
  readonly why: string;
}

export function composeWork(plan: ChangePlan, now: StackNow | undefined, running: { release: string | undefined; mode: TitanMode; lifting: boolean }): ComposeWork {
  const up = (why: string): ComposeWork => ({ up: true, why });
  if (running.release === undefined) return up('first release on this host: the stack is created');
  if (plan.changed.length > 0) return up(`${plan.changed.length} service(s) change: ${plan.changed.join(', ')}`);
  if (running.lifting) return up('the halt is lifted: the trading services start again');
  if (now === undefined) return up('the stack could not be read');
  const record = now.record;
  if (record === undefined) return up('no record of the last start of the stack on the host');
  if (record.release !== running.release) return up(`the stack was last started from release ${record.release}, not from ${running.release}, which is current`);
  if (record.mode !== running.mode) return up(`the last recorded start of the stack was in mode ${record.mode}; this deploy starts it ${running.mode}`);
  if (now.shared !== 'same') return up('the files under shared/ (production values, secrets) changed since the last start');
  const recorded = new Map(record.containers.map((c) => [c.id, c.service]));
  for (const container of now.containers) {
    const service = recorded.get(container.id);
    if (service === undefined) return up(`${container.service || container.id.slice(0, 12)} has a container the last start did not leave`);
    if (container.state !== 'running') return up(`${container.service} is ${container.state}`);
  }
  const present = new Set(now.containers.map((c) => c.id));
  const gone = record.containers.find((c) => !present.has(c.id));
  if (gone !== undefined) return up(`the container of ${gone.service} that the last start left is gone`);
  if (now.containers.length === 0) return up('the project has no container');
  return {
    up: false,
    why: `nothing changes against release ${running.release}, and its ${now.containers.length} containers run as its last start left them (same mode, shared/ unchanged)`,
  };
}
