/** The rollback request of this action's settings, for one host (its app dir and project). */
import { HostLayout } from '@titan/host/host-layout';
import type { Logger } from '@titan/log/logger';
import type { RollbackRequest } from '@titan/rollback/rollback';
import type { RollbackSettings } from './settings.js';

export function rollbackRequestOf(settings: RollbackSettings, target: { appDir: string; project: string }, logger: Logger, signal: AbortSignal | undefined): RollbackRequest {
  return {
    layout: new HostLayout(target.appDir),
    project: target.project,
    mode: settings.mode,
    to: settings.to,
    reason: settings.reason,
    actor: settings.actor,
    runUrl: settings.runUrl,
    halt: {
      address: settings.natsAddress,
      user: settings.natsUser,
      password: settings.natsPassword,
      subject: settings.haltSubject,
      responder: settings.haltResponder,
      hmacSecret: settings.hmacSecret,
      timeoutSeconds: settings.haltTimeoutSeconds,
    },
    lockTimeoutSeconds: settings.lockTimeoutSeconds,
    heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds,
    healthTimeoutSeconds: settings.healthTimeoutSeconds,
    stopTimeoutSeconds: settings.stopTimeoutSeconds,
    logger,
    ...(signal !== undefined ? { signal } : {}),
  };
}
