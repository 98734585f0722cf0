/**
 * The first phase of every rollback mode, before anything else and without waiting for any lock:
 * the HARD_HALT (hard-halt.ts), sent where the running release's stack profile says (or to
 * halt-subject/halt-responder), then the host's halt mark: from then on nothing automatic (a
 * waiting guard, a deploy in flight, a recovery) starts a trading service or arms the stack. A
 * HARD_HALT that is not acknowledged is a loud warning (mode `halt` fails on it: haltOnly).
 */
import { writeHaltMark } from '@titan/host/halt-mark';
import { readHostState } from '@titan/host/host-state';
import { firstLine } from '@titan/phases/first-line';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError } from '@titan/ssh/errors';
import { createHardHalt } from './halt-command.js';
import { type HaltOutcome, sendHardHalt } from './hard-halt.js';
import type { RollbackRun } from './rollback-run.js';
import { readRunningProfile } from './running-profile.js';

/** The HARD_HALT was not acknowledged in mode `halt`, where it is the whole job. */
export class HaltNotAcknowledgedError extends Error {
  override readonly name = 'HaltNotAcknowledgedError';
}

/** Reads the running profile, sends the HARD_HALT and writes the halt mark. */
export async function sendHaltAndMark(run: RollbackRun): Promise<HaltOutcome> {
  const { connection, layout, request, logger, mode } = run;
  const running = await readRunningProfile(connection, layout);
  run.running = running;
  if (running.profile === undefined) run.warn(`No stack profile: ${running.problem}.`);
  const profile = running.profile;
  const command = createHardHalt({ reason: request.reason, actor: request.actor, runUrl: request.runUrl });
  run.haltNonce = command.nonce;
  const subject = request.halt.subject ?? profile?.halt.subject;
  const responder = request.halt.responder ?? profile?.halt.responder;
  const halt = await run.clock.run('halt', () =>
    subject === undefined || responder === undefined
      ? Promise.resolve(
          haltNotSent(
            command,
            subject ?? '',
            `it was not sent: ${running.profile === undefined ? running.problem : 'no halt subject or responder'} (give halt-subject and halt-responder to send it without a profile)`,
          ),
        )
      : request.halt.password === '' || request.halt.hmacSecret === ''
        ? // A caller without the credentials (a rolling deploy's return given no nats-password or hmac-secret): nothing to sign or log in with.
          Promise.resolve(haltNotSent(command, subject, 'it was not sent: no NATS password or HMAC secret was given'))
        : sendHardHalt(connection, {
          address: request.halt.address,
          user: request.halt.user,
          password: request.halt.password,
          subject,
          responder,
          hmacSecret: request.halt.hmacSecret,
          command,
          timeoutMs: request.halt.timeoutSeconds * 1000,
          logger,
        }),
  );
  run.halt = halt;
  if (halt.acknowledged) {
    logger.info(`HARD_HALT acknowledged by ${halt.acknowledgement?.service ?? 'unknown'} in ${(halt.durationMs / 1000).toFixed(2)} s (nonce ${halt.nonce}).`);
  } else {
    run.warn(`HARD_HALT was NOT acknowledged: ${halt.problem ?? 'no reason known'}.${mode === 'halt' ? '' : ' The shutdown goes on without it.'}`);
  }
  // The halt mark, without waiting for any lock: nothing automatic starts trading from now on.
  const mark = { at: new Date().toISOString(), actor: request.actor, runUrl: request.runUrl, reason: request.reason, rollbackMode: mode, nonce: command.nonce };
  await writeHaltMark(connection, layout, mark).then(
    () =>
      logger.info(
        `Halt mark written (${layout.stateDir}/halted): nothing automatic starts a trading service or arms the stack until an explicit restart, rollback or lift-halt deploy.`,
      ),
    (error: unknown) => run.warn(`Could not write the halt mark in ${layout.stateDir}: ${firstLine(describeError(error))}`),
  );
  return halt;
}

/** Mode `halt`: the host read only for the release-id output and the journal; an unacknowledged HARD_HALT fails the run. */
export async function haltOnly(run: RollbackRun, halt: HaltOutcome): Promise<void> {
  const { connection, layout, project } = run;
  // A host that cannot be read does not undo a halt.
  run.state = await run.clock.run('inspect', () => readHostState(connection, layout)).catch((error: unknown) => {
    run.warn(`Could not read ${layout.appDir} on ${connection.host}: ${firstLine(describeError(error))}`);
    return undefined;
  });
  run.releaseBefore = run.state?.current;
  run.releaseAfter = run.state?.current;
  if (!halt.acknowledged) {
    const running = await runningContainers(connection, project).catch(() => undefined);
    throw new HaltNotAcknowledgedError(
      running === 0
        ? `The HARD_HALT was not acknowledged: ${halt.problem ?? 'no reason known'}. The stack of project ${project} is stopped on ${connection.host} (no container of it runs), ` +
            'so nothing trades; the halt mark keeps anything automatic from starting it. Run mode restart to start it again DISARMED.'
        : `The HARD_HALT was not acknowledged: ${halt.problem ?? 'no reason known'}. Trading may still be running: ` +
            'run this action with mode: stop to stop the trading services.',
    );
  }
  run.result = 'halted';
}

/** The services of the project whose containers run. */
export async function runningServices(connection: SshConnection, project: string): Promise<string[]> {
  const { stdout } = await connection.run(['docker', 'ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Label "com.docker.compose.service"}}'], {
    timeoutMs: 30_000,
    logOutput: 'none',
  });
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

/** How many containers of the project run (a stopped stack: 0). */
async function runningContainers(connection: SshConnection, project: string): Promise<number> {
  return (await runningServices(connection, project)).length;
}

/** The outcome of a HARD_HALT that could not be sent (no subject or responder to send it to). */
function haltNotSent(command: { nonce: string; issuedAt: string }, subject: string, problem: string): HaltOutcome {
  return { subject, nonce: command.nonce, issuedAt: command.issuedAt, acknowledged: false, acknowledgement: undefined, problem, ignoredReplies: [], durationMs: 0 };
}
