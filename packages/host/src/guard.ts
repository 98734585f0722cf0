/**
 * Commit-confirmed on the host. Before `current` flips to a new release, a guard is started ON THE
 * HOST, detached from the SSH session: if no confirmation for that release appears within the
 * confirm window, it takes the deploy lock and returns the host to the previous release by itself.
 * The runner confirms once the new release verified; a runner that is lost after the switch (job
 * cancelled, runner killed, network gone) leaves the guard to revert. See guard-scripts.ts.
 */
import type { Logger } from '@titan/log/logger';
import { isBundlePath } from '@titan/release/bundle-path';
import { SERVICE_NAME_PATTERN } from '@titan/release/image-reference';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import { type Arg, secret } from '@titan/ssh/shell-quote';
import type { TitanMode } from './compose-command.js';
import {
  CONFIRM_SCRIPT,
  CONFIRM_SCRIPT_NAME,
  GUARD_SCRIPT,
  REVERT_SCRIPT,
  REVERT_SCRIPT_NAME,
  START_GUARD_SCRIPT,
  START_GUARD_SCRIPT_NAME,
  STOP_GUARD_SCRIPT,
  STOP_GUARD_SCRIPT_NAME,
} from './guard-scripts.js';
import type { HostLayout } from './host-layout.js';

/** How to leave `release` for `previous`, as the guard or a rollback does it. */
export interface RevertPlan {
  readonly project: string;
  /** The release to leave (it is marked bad). */
  readonly release: string;
  /** The release to return to; undefined on a first deploy (the project is stopped, `current` removed). */
  readonly previous: string | undefined;
  /** The previous release's compose files, relative to its folder, in -f order. */
  readonly previousComposeFiles: readonly string[];
  /** Services to stop before the flip back (those whose containers must not keep running as they are). */
  readonly stopServices: readonly string[];
  /** TITAN_MODE to start the previous release with. */
  readonly mode: TitanMode;
  /** Why (recorded in the bad mark and the journal). */
  readonly reason: string;
  /** A journal line to append: the result and the fields it carries besides time/result/release/previous/mode/reason. */
  readonly journal?: { readonly result: string; readonly fields: Readonly<Record<string, unknown>> };
}

export function revertArgs(layout: HostLayout, plan: RevertPlan): string[] {
  checkReleaseId(plan.release);
  if (plan.previous !== undefined) checkReleaseId(plan.previous);
  for (const service of plan.stopServices) {
    if (!SERVICE_NAME_PATTERN.test(service)) throw new Error(`Service name ${JSON.stringify(service)} does not match ${SERVICE_NAME_PATTERN.source}.`);
  }
  for (const file of plan.previousComposeFiles) {
    if (!isBundlePath(file)) throw new Error(`Compose file ${JSON.stringify(file)} is not a bundle path.`);
  }
  return [
    layout.appDir,
    plan.project,
    plan.release,
    plan.previous ?? '',
    plan.mode,
    plan.journal?.result ?? '',
    JSON.stringify(plan.reason),
    plan.stopServices.join(' '),
    JSON.stringify(plan.journal?.fields ?? {}),
    ...plan.previousComposeFiles,
  ];
}

/** Reverts now. The caller must hold the deploy lock. */
export async function revertRelease(connection: SshConnection, layout: HostLayout, plan: RevertPlan, logger: Logger): Promise<void> {
  await connection.runScript(REVERT_SCRIPT, revertArgs(layout, plan), { name: REVERT_SCRIPT_NAME, timeoutMs: 10 * 60_000, logOutput: 'info' });
  logger.info(
    plan.previous === undefined
      ? `Stopped project ${plan.project} and removed current: release ${plan.release} is marked bad and there is no previous release.`
      : `current -> releases/${plan.previous} again; release ${plan.release} is marked bad.`,
  );
}

export interface StartedGuard {
  readonly release: string;
  readonly pid: number;
  /** Host clock, epoch seconds. */
  readonly deadline: number;
}

export interface GuardRequest {
  readonly confirmTimeoutSeconds: number;
  /** What the guard does when the confirmation does not come (journal result `reverted-by-guard`). */
  readonly revert: RevertPlan;
}

export async function startGuard(connection: SshConnection, layout: HostLayout, request: GuardRequest, logger: Logger): Promise<StartedGuard> {
  const { revert } = request;
  // The two script texts are shown as <guard-script> and <revert-script> in logs (they are not
  // secret; they are long).
  const args: Arg[] = [
    secret(GUARD_SCRIPT, 'guard-script'),
    layout.appDir,
    revert.release,
    revert.previous ?? '',
    String(request.confirmTimeoutSeconds),
    secret(REVERT_SCRIPT, 'revert-script'),
    ...revertArgs(layout, revert),
  ];
  const { stdout } = await connection.runScript(START_GUARD_SCRIPT, args, { name: START_GUARD_SCRIPT_NAME, timeoutMs: 60_000 });
  const record = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { pid?: unknown; deadline?: unknown };
  const guard = { release: revert.release, pid: Number(record.pid), deadline: Number(record.deadline) };
  logger.info(
    `Guard started on the host (pid ${guard.pid}): unless release ${revert.release} is confirmed within ${request.confirmTimeoutSeconds} s, ` +
      `the host returns to ${revert.previous === undefined ? 'no release (stack stopped)' : `release ${revert.previous}`} by itself.`,
  );
  return guard;
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
  await connection.runScript(CONFIRM_SCRIPT, [layout.appDir, release, JSON.stringify(confirmation), mode], {
    name: CONFIRM_SCRIPT_NAME,
    timeoutMs: 60_000,
  });
}

/** Stops the guard of `release` without confirming it (after a rollback the runner did itself). */
export async function stopGuard(connection: SshConnection, layout: HostLayout, release: string): Promise<void> {
  checkReleaseId(release);
  await connection.runScript(STOP_GUARD_SCRIPT, [layout.appDir, release], { name: STOP_GUARD_SCRIPT_NAME, timeoutMs: 60_000 });
}

function checkReleaseId(id: string): void {
  if (!RELEASE_ID_PATTERN.test(id)) throw new Error(`Release id ${JSON.stringify(id)} does not match ${RELEASE_ID_PATTERN.source}.`);
}
