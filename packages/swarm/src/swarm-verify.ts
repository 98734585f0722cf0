/**
 * verifySwarm: what runs on the swarm is the release `current` points at, converged and healthy.
 * The release folder is verified again on the host (signature and every file against trust/), its
 * manifest read from there; then the swarm must show, within the timeout, every service of the
 * release on the manifest's pinned digest with its tasks of this release Running and healthy and
 * no update running (convergence.ts). Changes nothing; takes no lock.
 */
import type { HostLayout } from '@titan/host/host-layout';
import { readHostState } from '@titan/host/host-state';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError } from '@titan/ssh/errors';
import type { ServiceConvergence } from './convergence.js';
import { requireManager, SwarmConvergenceError, watchConvergence } from './stack-deploy.js';
import { stackRelease, verifiedHostRelease } from './swarm-release.js';

export interface SwarmVerifyRequest {
  readonly layout: HostLayout;
  readonly stack: string;
  readonly timeoutSeconds: number;
  /** The input that sets timeoutSeconds, named when it runs out (default health-timeout). */
  readonly timeoutInput?: string;
  readonly logger: Logger;
  readonly pollMs?: number;
}

export interface SwarmVerifyReport {
  readonly ok: boolean;
  readonly stack: string;
  readonly releaseId: string | undefined;
  readonly services: readonly ServiceConvergence[];
  /** Why it is not ok (undefined when it is). */
  readonly problem: string | undefined;
}

export async function verifySwarm(connection: SshConnection, request: SwarmVerifyRequest): Promise<SwarmVerifyReport> {
  const { layout, stack, logger } = request;
  const state = await readHostState(connection, layout);
  const releaseId = state.current;
  if (releaseId === undefined) return { ok: false, stack, releaseId, services: [], problem: `No release is current on ${connection.host} (${layout.current}).` };
  try {
    const manifest = await verifiedHostRelease(connection, layout, releaseId);
    logger.info(`Release ${releaseId} (current) verifies again on the host.`);
    const swarm = await requireManager(connection, layout, stack);
    const services = await watchConvergence(connection, stackRelease(layout, stack, manifest, 'DISARMED'), {
      since: swarm.now,
      timeoutSeconds: request.timeoutSeconds,
      ...(request.timeoutInput !== undefined ? { timeoutInput: request.timeoutInput } : {}),
      logger,
      ...(request.pollMs !== undefined ? { pollMs: request.pollMs } : {}),
    });
    return { ok: true, stack, releaseId, services, problem: undefined };
  } catch (error: unknown) {
    return { ok: false, stack, releaseId, services: error instanceof SwarmConvergenceError ? error.services : [], problem: describeError(error) };
  }
}
