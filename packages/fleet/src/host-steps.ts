/**
 * What a rolling change does on ONE host of the fleet, each over one SSH connection of its own
 * (opened for the step, closed at its end, so the runner holds at most one per host in flight):
 *
 * Through a bastion (credentials.jump), each of these connections runs over a channel of the one
 * bastion connection the rolling deploy holds open for the whole run.
 *
 *  reach   connect with the host's own pinned keys and close: before anything changes anywhere,
 *          every host must answer with a pinned key (an unreachable host or a changed key stops
 *          the fleet before the first deploy).
 *  deploy  packages/deploy's deployRelease, the host's own deploy lock, guard and journal.
 *  revert  packages/rollback's rollbackStack (mode rollback) to the release the host ran before.
 * The logger names the host on every line; a parallel batch cannot nest groups, so a host's
 * phases are lines, not groups.
 */
import { deployRelease, type DeployOutcome, type DeployRequest } from '@titan/deploy/deploy';
import { HostLayout } from '@titan/host/host-layout';
import type { Logger } from '@titan/log/logger';
import { rollbackStack, type HaltSettings, type RollbackOutcome } from '@titan/rollback/rollback';
import { connectSsh, type RetryOptions } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError, HostKeyMismatchError } from '@titan/ssh/errors';
import type { JumpHost } from '@titan/ssh/jump-host';
import type { FleetHost } from './fleet-hosts.js';

export interface HostCredentials {
  readonly privateKey: string;
  readonly passphrase?: string | undefined;
  readonly retry?: RetryOptions;
  /** The bastion every host is reached through (its one connection shared by all of them). */
  readonly jump?: JumpHost | undefined;
}

/** How a fleet revert returns a switched host (rollbackStack's own settings). */
export interface RevertSettings {
  readonly halt: HaltSettings;
  readonly stopTimeoutSeconds: number | undefined;
}

export type DeploySettingsForHost = Omit<DeployRequest, 'logger' | 'signal'>;

/** The fleet's settings with this host's own app dir and project, when it names them. */
export function settingsFor(host: FleetHost, settings: DeploySettingsForHost): DeploySettingsForHost {
  return {
    ...settings,
    ...(host.appDir !== undefined ? { layout: new HostLayout(host.appDir) } : {}),
    ...(host.project !== undefined ? { project: host.project } : {}),
  };
}

/** Counts the connections the runner holds (for the summary and the benchmark). */
export class ConnectionCount {
  current = 0;
  peak = 0;
  opened = 0;
  add(): void {
    this.current += 1;
    this.opened += 1;
    this.peak = Math.max(this.peak, this.current);
  }
  remove(): void {
    this.current -= 1;
  }
}

export class HostSteps {
  private readonly credentials: HostCredentials;
  private readonly count: ConnectionCount;
  private readonly logger: Logger;

  constructor(credentials: HostCredentials, count: ConnectionCount, logger: Logger) {
    this.credentials = credentials;
    this.count = count;
    this.logger = logger;
  }

  /** A logger whose lines start with `[name]`. */
  hostLogger(host: FleetHost): Logger {
    const p = `[${host.name}] `;
    const base = this.logger;
    return {
      debug: (m) => base.debug(p + m),
      info: (m) => base.info(p + m),
      warning: (m) => base.warning(p + m),
      error: (m) => base.error(p + m),
      group: async (name, run) => {
        base.info(`${p}▶ ${name}`);
        return run();
      },
    };
  }

  async withConnection<T>(host: FleetHost, logger: Logger, work: (connection: SshConnection) => Promise<T>): Promise<T> {
    const connection = await connectSsh({
      host: host.address,
      port: host.port,
      username: host.user,
      privateKey: this.credentials.privateKey,
      ...(this.credentials.passphrase !== undefined ? { passphrase: this.credentials.passphrase } : {}),
      hostKeys: host.knownHosts,
      ...(this.credentials.retry !== undefined ? { retry: this.credentials.retry } : {}),
      ...(this.credentials.jump !== undefined ? { via: this.credentials.jump } : {}),
      logger,
    });
    this.count.add();
    try {
      return await work(connection);
    } finally {
      await connection.close();
      this.count.remove();
    }
  }

  /** undefined when the host answers with a pinned key; otherwise how it failed, naming it. */
  async reach(host: FleetHost): Promise<{ result: 'unreachable' | 'host-key-refused'; message: string } | undefined> {
    try {
      await this.withConnection(host, this.hostLogger(host), () => Promise.resolve());
      return undefined;
    } catch (error: unknown) {
      const keyRefused = error instanceof HostKeyMismatchError;
      return {
        result: keyRefused ? 'host-key-refused' : 'unreachable',
        message: `${host.name} (${host.address} port ${host.port}) ${keyRefused ? 'presented a host key that is not pinned for it' : 'cannot be reached'}: ${describeError(error)}`,
      };
    }
  }

  deploy(host: FleetHost, fleetSettings: DeploySettingsForHost, signal: AbortSignal | undefined): Promise<DeployOutcome> {
    const logger = this.hostLogger(host);
    const settings = settingsFor(host, fleetSettings);
    return this.withConnection(host, logger, (connection) => deployRelease(connection, { ...settings, logger, ...(signal !== undefined ? { signal } : {}) }));
  }

  revert(host: FleetHost, to: string, fleetSettings: DeploySettingsForHost, revert: RevertSettings, reason: string): Promise<RollbackOutcome> {
    const logger = this.hostLogger(host);
    const settings = settingsFor(host, fleetSettings);
    return this.withConnection(host, logger, (connection) =>
      rollbackStack(connection, {
        layout: settings.layout,
        project: settings.project,
        mode: 'rollback',
        to: { kind: 'release', id: to },
        reason,
        actor: settings.actor,
        runUrl: settings.runUrl,
        halt: revert.halt,
        lockTimeoutSeconds: settings.lockTimeoutSeconds,
        ...(settings.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds } : {}),
        healthTimeoutSeconds: settings.healthTimeoutSeconds,
        stopTimeoutSeconds: revert.stopTimeoutSeconds,
        logger,
        ...(settings.verifyPollMs !== undefined ? { verifyPollMs: settings.verifyPollMs } : {}),
      }),
    );
  }
}
