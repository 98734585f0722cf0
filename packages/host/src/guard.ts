/**
 * Commit-confirmed on the host. Before a deploy changes the running stack (its first stop,
 * migration, switch or start), a guard is started ON THE HOST, detached from the SSH session, with
 * a plan for returning to a good release. If the deploy ends without confirming (its runner killed,
 * cancelled, frozen or cut off: its lock holder on the host is gone) or does not confirm within the
 * confirm window, the guard takes the deploy lock and runs the plan by itself: back to the previous
 * release after a switch, the stopped services started again before one (scripts/guard.sh,
 * scripts/revert.sh).
 * The runner confirms once the new release verified; after a failure it runs the same plan itself
 * (runGuardPlan), so that the host and the runner always return the same way.
 */
import type { Logger } from '@titan/log/logger';
import { isBundlePath } from '@titan/release/bundle-path';
import { SERVICE_NAME_PATTERN } from '@titan/release/image-reference';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import { secret } from '@titan/ssh/shell-quote';
import type { TitanMode } from './compose-command.js';
import { lastRecord } from './host-record.js';
import { hostScript, runHostScript } from './host-script.js';
import type { HostLayout } from './host-layout.js';

/** How to leave `release` for `previous`, as the guard, a recovery or the deploy itself does it. */
export interface GuardPlan {
  readonly project: string;
  /** The release being deployed (it is marked bad when a revert leaves it after its switch). */
  readonly release: string;
  /**
   * The release to return to: the one `current` pointed at before (the same id for a redeploy of
   * the running release); undefined on a first deploy (the project is stopped, `current` removed).
   */
  readonly previous: string | undefined;
  /** The previous release's compose files, relative to its folder, in -f order. */
  readonly previousComposeFiles: readonly string[];
  /** Services to stop before the flip back (those whose containers must not keep running as they are). */
  readonly stopServices: readonly string[];
  /** TITAN_MODE to start the previous release with (an automatic return is DISARMED). */
  readonly mode: TitanMode;
  /** Services an operator's halt (state/halted) keeps stopped: a return never starts them under a halt. */
  readonly heldServices: readonly string[];
  /** Fields of the journal lines the guard or a recovery writes (actor, runUrl, action). */
  readonly journalFields: Readonly<Record<string, unknown>>;
}

/** What running a plan did: back to the previous release, the same release again DISARMED, the stopped services started again, or nothing. */
export type GuardOutcome = 'reverted' | 'returned' | 'restored' | 'nothing';

/** The plan as the lines of state/guard-<id>.plan (every value checked; none holds a line break). */
export function planValues(plan: GuardPlan): string[] {
  checkReleaseId(plan.release);
  if (plan.previous !== undefined) checkReleaseId(plan.previous);
  for (const service of [...plan.stopServices, ...plan.heldServices]) {
    if (!SERVICE_NAME_PATTERN.test(service)) throw new Error(`Service name ${JSON.stringify(service)} does not match ${SERVICE_NAME_PATTERN.source}.`);
  }
  for (const file of plan.previousComposeFiles) {
    if (!isBundlePath(file)) throw new Error(`Compose file ${JSON.stringify(file)} is not a bundle path.`);
  }
  // The journal's action first (revert.sh writes it where every journal line has it: journal.ts).
  const { action = 'deploy', ...rest } = plan.journalFields;
  if (typeof action !== 'string' || !/^[a-z-]+$/.test(action)) throw new Error(`The journal action of a guard plan must be a word, not ${JSON.stringify(action)}.`);
  const fields = JSON.stringify({ action, ...rest });
  if (fields.includes('\n')) throw new Error('The journal fields of a guard plan must be one JSON object.');
  return [plan.project, plan.previous ?? '', plan.mode, plan.stopServices.join(' '), plan.heldServices.join(' '), fields, ...plan.previousComposeFiles];
}

export interface StartedGuard {
  readonly release: string;
  readonly pid: number;
  /** Host clock, epoch seconds. */
  readonly deadline: number;
}

export interface GuardRequest {
  /** Seconds the deploy has to confirm; the guard also acts as soon as the deploy is gone. */
  readonly confirmTimeoutSeconds: number;
  readonly plan: GuardPlan;
}

/** Starts the guard of `plan.release` (the caller holds the deploy lock). */
export async function startGuard(connection: SshConnection, layout: HostLayout, request: GuardRequest, logger: Logger): Promise<StartedGuard> {
  const { plan } = request;
  const values = planValues(plan);
  // The script texts are shown as <titan-guard>, <titan-revert> and <titan-verify-release> in logs
  // (they are not secret; they are long).
  const { stdout } = await runHostScript(
    connection,
    layout,
    'titan-start-guard',
    [
      secret(hostScript('titan-guard'), 'titan-guard'),
      secret(hostScript('titan-revert'), 'titan-revert'),
      secret(hostScript('titan-check-bundle'), 'titan-check-bundle'),
      plan.release,
      plan.previous ?? '',
      String(request.confirmTimeoutSeconds),
      ...values,
    ],
    { timeoutMs: 60_000 },
  );
  const record = JSON.parse(lastRecord(stdout, 'guard')?.[0] ?? '{}') as { pid?: unknown; deadline?: unknown };
  const guard = { release: plan.release, pid: Number(record.pid), deadline: Number(record.deadline) };
  const back =
    plan.previous === undefined
      ? 'no release (stack stopped)'
      : plan.previous === plan.release
        ? `release ${plan.release} ${plan.mode}`
        : `release ${plan.previous}`;
  logger.info(
    `Guard started on the host (pid ${guard.pid}): unless release ${plan.release} is confirmed, the host returns to ${back} by itself ` +
      `as soon as this deploy is gone, or after ${request.confirmTimeoutSeconds} s.`,
  );
  return guard;
}

/**
 * Runs the guard plan of `release` now (the caller holds the deploy lock): the return the guard
 * would make, from whatever state the host is in. `by` names who ran it in the journal line the
 * script writes ('' writes none: the caller writes its own).
 */
export async function runGuardPlan(
  connection: SshConnection,
  layout: HostLayout,
  release: string,
  options: { by: '' | 'guard' | 'recovery'; reason: string },
  logger: Logger,
): Promise<GuardOutcome> {
  checkReleaseId(release);
  const { stdout } = await runHostScript(
    connection,
    layout,
    'titan-revert',
    [release, options.by, JSON.stringify(options.reason), secret(hostScript('titan-check-bundle'), 'titan-check-bundle')],
    { timeoutMs: 10 * 60_000, logOutput: 'info' },
  );
  const said = lastRecord(stdout, 'outcome')?.[0];
  const outcome = said === 'reverted' || said === 'returned' || said === 'restored' || said === 'nothing' ? said : undefined;
  if (outcome === undefined) throw new Error(`The return plan of ${release} ended without saying what it did (${JSON.stringify(stdout.trim().split('\n').pop() ?? '')}).`);
  logger.debug(`return plan of ${release}: ${outcome}`);
  return outcome;
}

/** Confirms the release (the guard stands down), clears a bad mark, records the mode. */
export async function confirmRelease(
  connection: SshConnection,
  layout: HostLayout,
  release: string,
  confirmation: Readonly<Record<string, unknown>>,
  mode: TitanMode,
): Promise<void> {
  checkReleaseId(release);
  await runHostScript(connection, layout, 'titan-confirm', [release, JSON.stringify(confirmation), mode], { timeoutMs: 60_000 });
}

/** Stops the guard of `release` without confirming it, and drops its plan. */
export async function stopGuard(connection: SshConnection, layout: HostLayout, release: string): Promise<void> {
  checkReleaseId(release);
  await runHostScript(connection, layout, 'titan-stop-guard', [release], { timeoutMs: 60_000 });
}

function checkReleaseId(id: string): void {
  if (!RELEASE_ID_PATTERN.test(id)) throw new Error(`Release id ${JSON.stringify(id)} does not match ${RELEASE_ID_PATTERN.source}.`);
}
