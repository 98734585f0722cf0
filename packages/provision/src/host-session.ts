/**
 * The pinned connection to the host as the deploy user. A new Droplet's sshd comes up some time
 * after DigitalOcean says "active": connecting is retried (refused, reset, dropped during the
 * handshake) until the boot deadline. A host key other than the pinned one is refused at once,
 * before anything is sent, and never retried: that is a man in the middle or the wrong host.
 */
import type { Logger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { ConnectError } from '@titan/ssh/errors';
import { HOST_PATHS } from './host-spec.js';
import { parseHostStatus, type HostStatus } from './host-status.js';

export interface HostEndpoint {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey: string;
}

export async function connectPinned(endpoint: HostEndpoint, pins: readonly string[], logger: Logger, deadlineMs: number): Promise<SshConnection> {
  for (let round = 1; ; round++) {
    const budget = Math.max(5_000, deadlineMs - Date.now());
    try {
      return await connectSsh({
        host: endpoint.address,
        port: endpoint.port,
        username: endpoint.user,
        privateKey: endpoint.privateKey,
        hostKeys: pins,
        logger,
        connectTimeoutMs: Math.min(20_000, budget),
        retry: { attempts: 3, initialDelayMs: 1_000, maxDelayMs: 4_000 },
      });
    } catch (error) {
      // Not up yet (refused, or a connection dropped before sshd spoke): wait for the boot. A key
      // mismatch or a refused login is a different error class and ends here.
      if (!(error instanceof ConnectError) || Date.now() + 3_000 > deadlineMs) throw error;
      if (round % 5 === 1) logger.info(`${endpoint.address} port ${endpoint.port}: sshd does not answer yet (${error.message}); waiting for the first boot`);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
  }
}

/** `sudo -n titan-host ARGS...` on the host: the deploy user's only way to act as root. */
export async function hostHelper(connection: SshConnection, args: readonly string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await connection.run(['sudo', '-n', HOST_PATHS.helper, ...args], { ...options, logOutput: 'debug' });
  return result.stdout;
}

export async function readHostStatus(connection: SshConnection): Promise<HostStatus> {
  return parseHostStatus(await hostHelper(connection, ['status']));
}

export class FirstBootError extends Error {
  override readonly name = 'FirstBootError';
}

/**
 * Waits for cloud-init to finish the first boot (`cloud-init status --wait`): done (or done with
 * warnings) goes on, an error stops with cloud-init's own report.
 */
export async function waitForFirstBoot(connection: SshConnection, logger: Logger, timeoutMs: number): Promise<string> {
  logger.info('waiting for cloud-init to finish the first boot (cloud-init status --wait)');
  const result = await connection.run(['cloud-init', 'status', '--wait', '--long'], { timeoutMs, acceptExitCodes: [1, 2], logOutput: 'debug' });
  const status = /^\.*status:\s*(\S+)/m.exec(result.stdout)?.[1] ?? 'unknown';
  if (status !== 'done') {
    throw new FirstBootError(
      `cloud-init on the host ended its first boot with status "${status}" (exit ${result.exitCode}); its report:\n${result.stdout.trim().slice(0, 3000)}\n` +
        'The host is left as it is for you to inspect (ssh in as the deploy user, sudo is not available: read /var/log/cloud-init-output.log); destroy it and run again once the cause is fixed.',
    );
  }
  const extended = /^extended_status:\s*(.+)$/m.exec(result.stdout)?.[1]?.trim();
  if (extended !== undefined && extended.startsWith('degraded')) logger.warning(`cloud-init finished with warnings (${extended}):\n${result.stdout.trim()}`);
  return extended ?? status;
}
