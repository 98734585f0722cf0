/**
 * The inspect phase of a deploy, and of a plan: the host read under the lock (readHostState), held
 * to what a deploy needs before it changes anything: a trusted release key, a private production
 * values file, a `current` that is a release folder, and no operator's halt unless the run lifts it.
 * A deploy throws the first problem; a plan (problems) lists every one at once.
 */
import { describeHalt, HostHaltedError } from '@titan/host/halt-mark';
import type { HostLayout } from '@titan/host/host-layout';
import { type HostState, readHostState } from '@titan/host/host-state';
import type { TitanMode } from '@titan/host/compose-command';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { HostNotReadyError } from './deploy-errors.js';

export interface InspectedHost {
  readonly state: HostState;
  /** The nonce of the halt this run lifts (lift-halt), when the host is halted. */
  readonly lifting: string | undefined;
}

/** Reads the host and refuses one that is not ready, or halted without lift-halt. */
export async function inspectHost(connection: SshConnection, layout: HostLayout, options: { liftHalt: boolean; logger: Logger }): Promise<InspectedHost> {
  const state = await readHostState(connection, layout);
  const [problem] = hostProblems(state, layout, connection.host);
  if (problem !== undefined) throw new HostNotReadyError(problem);
  if (state.halted === undefined) return { state, lifting: undefined };
  if (!options.liftHalt) throw new HostHaltedError(haltRefusal(state, connection.host), state.halted);
  options.logger.warning(`The host is halted ${describeHalt(state.halted)}; this deploy lifts the halt (lift-halt: true) when it starts the stack.`);
  return { state, lifting: state.halted.nonce };
}

/** Why a halted host is refused (without lift-halt). */
export function haltRefusal(state: HostState, host: string): string {
  const how = state.halted === undefined ? '' : ` ${describeHalt(state.halted)}`;
  return (
    `The host ${host} is halted${how}. Nothing was changed: a deploy never starts trading on a halted host by itself. ` +
    'Deploy with lift-halt: true to deploy and lift the halt, or run action-rollback with mode restart or rollback.'
  );
}

/** Everything that keeps the host from taking a deploy, each with what to do (empty: ready). */
export function hostProblems(state: HostState, layout: HostLayout, host: string): string[] {
  const problems: string[] = [];
  if (state.trustedKeys === 0) {
    problems.push(
      `The host ${host} has no trusted release key in ${layout.trustDir}, so it cannot verify any release and none is deployed. ` +
        `Provision it: put the release public key PEM in ${layout.trustDir}/ (action-provision does this), then deploy again.`,
    );
  }
  if (!state.envFile.present) {
    problems.push(
      `The host ${host} has no production values file ${layout.envFile}. Create it on the host from production.env.template ` +
        '(mode 0600, owned by the deploy user); deploys never upload it.',
    );
  } else if ((state.envFile.mode & 0o077) !== 0) {
    problems.push(`${layout.envFile} on ${host} is readable by others (mode ${state.envFile.mode.toString(8)}). Run chmod 600 on it, then deploy again.`);
  }
  if (state.strayCurrent !== undefined) {
    problems.push(`${layout.current} on ${host} points at ${JSON.stringify(state.strayCurrent)}, not at a release folder (releases/<id>). Fix it by hand before deploying.`);
  }
  return problems;
}

/** state/mode as a mode, when it is one. */
export function recordedMode(state: HostState): TitanMode | undefined {
  return state.mode === 'ARMED' || state.mode === 'DISARMED' ? state.mode : undefined;
}
