/**
 * Which Titan services a deploy stops itself before the switch, and which it leaves to Compose.
 *
 * The ordered stop (the stack profile's groups, one after the other) exists so that no trading
 * service runs against the database while migrations change it, and so that, when several groups
 * change, they go down in the profile's order. When no migration is pending and the services that
 * change are all in ONE group and all recreated by `docker compose up` (their image, definition or
 * mode changes), stopping them early only lengthens the time trading is down: Compose stops each one
 * itself right before it starts its new container, after the switch. A service whose mounted files
 * alone change is not recreated by Compose, so it is still stopped before the switch (it starts
 * again on the new release's files).
 */
import type { ChangePlan } from './change-plan.js';

export interface StopDecision {
  /** Groups the deploy stops before the migrations, in order. */
  readonly groups: readonly (readonly string[])[];
  /** Changed Titan services left running until Compose recreates them at the start. */
  readonly recreatedAtStart: readonly string[];
}

const RECREATING = new Set(['image', 'definition', 'mode']);

export function stopsBeforeSwitch(plan: ChangePlan, pendingMigrations: number): StopDecision {
  const groups = plan.stopBeforeSwitch;
  const [only] = groups;
  if (pendingMigrations > 0 || groups.length !== 1 || only === undefined) return { groups, recreatedAtStart: [] };
  const recreated = only.every((service) => plan.services.find((s) => s.service === service)?.reasons.some((r) => RECREATING.has(r)) === true);
  return recreated ? { groups: [], recreatedAtStart: only } : { groups, recreatedAtStart: [] };
}
