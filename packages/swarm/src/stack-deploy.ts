/**
 * One release folder onto the swarm, and the wait for it: `docker stack deploy` of the verified
 * folder releases/<id> (scripts/swarm-stack-deploy.sh: its compose files with the digest override
 * last, the production values exported from shared/.env.prod into the command's environment, the
 * runner's `titan.release` label file on stdin), then the swarm read every poll until the stack
 * converged on that release (convergence.ts), failed, or the timeout passed.
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { HostLayout } from '@titan/host/host-layout';
import { runHostScript } from '@titan/host/host-script';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { type Convergence, describeWaiting, judgeConvergence, type ServiceConvergence } from './convergence.js';
import { releaseLabelFile } from './stack-definition.js';
import { readSwarmStatus, type SwarmStatus } from './swarm-status.js';

/** The stack did not converge on the release: a task failed, the swarm stopped the update, or time ran out. */
export class SwarmConvergenceError extends Error {
  override readonly name = 'SwarmConvergenceError';
  /** The service that failed (undefined for a timeout over several). */
  readonly service: string | undefined;
  readonly services: readonly ServiceConvergence[];

  constructor(message: string, service: string | undefined, services: readonly ServiceConvergence[]) {
    super(message);
    this.service = service;
    this.services = services;
  }
}

/** The swarm cannot take a stack here: this engine is no manager of an active swarm. */
export class NotSwarmManagerError extends Error {
  override readonly name = 'NotSwarmManagerError';
}

export interface StackRelease {
  readonly layout: HostLayout;
  readonly stack: string;
  readonly releaseId: string;
  /** The release's compose files, in -f order, the digest override last (manifest.compose). */
  readonly composeFiles: readonly string[];
  /** Compose service -> pinned image (releaseImages). */
  readonly images: ReadonlyMap<string, string>;
  readonly mode: TitanMode;
}

/** Reads the swarm and requires an active swarm whose manager this engine is. */
export async function requireManager(connection: SshConnection, layout: HostLayout, stack: string): Promise<SwarmStatus> {
  const status = await readSwarmStatus(connection, layout, stack);
  if (status.swarm !== 'active' || !status.manager) {
    throw new NotSwarmManagerError(
      `The Docker engine of ${connection.host} is not a manager of an active swarm (swarm state ${status.swarm}, manager ${String(status.manager)}). ` +
        'Nothing was changed. target: swarm deploys through a manager node: run `docker swarm init` (or join it as a manager) first, or deploy with target: compose.',
    );
  }
  return status;
}

/** `docker stack deploy` of releases/<id>; returns once the swarm took the spec. */
export async function deployStack(connection: SshConnection, release: StackRelease, logger: Logger): Promise<void> {
  const { layout, stack, releaseId, composeFiles, images, mode } = release;
  const stdin = releaseLabelFile([...images.keys()].sort(), releaseId);
  const { stdout } = await runHostScript(connection, layout, 'titan-swarm-stack-deploy', [stack, releaseId, mode, ...composeFiles], { timeoutMs: 5 * 60_000, stdin });
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) logger.debug(line);
  logger.info(`docker stack deploy: stack ${stack} now asks for release ${releaseId} (${images.size} services, digests pinned, TITAN_MODE=${mode}).`);
}

export interface WatchOptions {
  /** Host clock before the stack deploy (requireManager's reading). */
  readonly since: number;
  readonly timeoutSeconds: number;
  /** The input that sets the timeout, named when it runs out (default health-timeout). */
  readonly timeoutInput?: string;
  readonly pollMs?: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** Polls the swarm until the stack converged on the release; throws SwarmConvergenceError otherwise. */
export async function watchConvergence(connection: SshConnection, release: StackRelease, options: WatchOptions): Promise<readonly ServiceConvergence[]> {
  const { logger, timeoutSeconds } = options;
  const pollMs = options.pollMs ?? 1000;
  const deadline = performance.now() + timeoutSeconds * 1000;
  const target = { stack: release.stack, releaseId: release.releaseId, images: release.images, since: options.since };
  let said = '';
  let last: Convergence | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    last = judgeConvergence(await readSwarmStatus(connection, release.layout, release.stack), target);
    if (last.state === 'converged') {
      logger.info(`Stack ${release.stack} converged on release ${release.releaseId}: ${last.services.map((s) => `${s.service} ${s.running}/${s.wanted}`).join(', ')}.`);
      return last.services;
    }
    if (last.state === 'failed') {
      throw new SwarmConvergenceError(`Service ${last.service} of stack ${release.stack} failed on release ${release.releaseId}: ${last.reason}.`, last.service, last.services);
    }
    const waiting = describeWaiting(last);
    if (performance.now() > deadline) {
      const names = last.services.filter((s) => s.waiting !== undefined).map((s) => s.service);
      throw new SwarmConvergenceError(
        `Stack ${release.stack} did not converge on release ${release.releaseId} within ${timeoutSeconds} s (${options.timeoutInput ?? 'health-timeout'}): ${waiting}.`,
        names.length === 1 ? names[0] : undefined,
        last.services,
      );
    }
    if (waiting !== said) logger.info(`Waiting for the swarm: ${waiting}`);
    said = waiting;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Removes the stack (a first release that did not converge) and waits until its containers are gone. */
export async function removeStack(connection: SshConnection, layout: HostLayout, stack: string): Promise<void> {
  await runHostScript(connection, layout, 'titan-swarm-stack-remove', [stack], { timeoutMs: 120_000 });
}
