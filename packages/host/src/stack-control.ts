/**
 * Starting and stopping the stack's services on the host through Docker Compose (see
 * compose-command.ts for the command line). Every command's exit status is checked; Compose's own
 * progress lines go to the log.
 */
import type { Logger } from '@titan/log/logger';
import { SERVICE_NAME_PATTERN } from '@titan/release/image-reference';
import type { SshConnection } from '@titan/ssh/connection';
import { type ComposeTarget, composeArgv } from './compose-command.js';
import { runHostScript } from './host-script.js';

const COMPOSE_TIMEOUT_MS = 10 * 60_000;

/** Stops services group after group (each group's services together), in the order given. */
export async function stopServices(connection: SshConnection, target: ComposeTarget, groups: readonly (readonly string[])[], logger: Logger): Promise<string[]> {
  const stopped: string[] = [];
  for (const group of groups) {
    if (group.length === 0) continue;
    logger.info(`Stopping ${group.join(', ')}`);
    await connection.run(composeArgv(target, ['stop', ...group]), { timeoutMs: COMPOSE_TIMEOUT_MS, logOutput: 'debug' });
    stopped.push(...group);
  }
  return stopped;
}

/** Starts services that exist (stopped) again, as they were. */
export async function startServices(connection: SshConnection, target: ComposeTarget, services: readonly string[], logger: Logger): Promise<void> {
  if (services.length === 0) return;
  logger.info(`Starting ${services.join(', ')} again`);
  await connection.run(composeArgv(target, ['start', ...services]), { timeoutMs: COMPOSE_TIMEOUT_MS, logOutput: 'debug' });
}

/**
 * `up -d --remove-orphans`: creates what is missing, recreates services whose definition or image
 * changed, starts stopped ones, and removes containers of services the release no longer has.
 */
export async function upStack(connection: SshConnection, target: ComposeTarget, logger: Logger): Promise<void> {
  logger.info(`docker compose up -d --remove-orphans (project ${target.project}, TITAN_MODE=${target.mode})`);
  await connection.run(composeArgv(target, ['up', '-d', '--remove-orphans']), { timeoutMs: COMPOSE_TIMEOUT_MS, logOutput: 'info' });
}

/** `up -d --no-deps <services>`: only these services (a first postgres before migrations). */
export async function upServices(connection: SshConnection, target: ComposeTarget, services: readonly string[], logger: Logger): Promise<void> {
  logger.info(`docker compose up -d --no-deps ${services.join(' ')}`);
  await connection.run(composeArgv(target, ['up', '-d', '--no-deps', ...services]), { timeoutMs: COMPOSE_TIMEOUT_MS, logOutput: 'info' });
}

/** `restart <services>`: stop and start, so bind mounts are resolved through `current` again. */
export async function restartServices(connection: SshConnection, target: ComposeTarget, services: readonly string[], logger: Logger): Promise<void> {
  if (services.length === 0) return;
  logger.info(`Restarting ${services.join(', ')} (their mounted configuration changed)`);
  await connection.run(composeArgv(target, ['restart', ...services]), { timeoutMs: COMPOSE_TIMEOUT_MS, logOutput: 'debug' });
}

/** `up -d --no-deps --remove-orphans` of every service but `held` (an operator's halt keeps those stopped). */
export async function upStackExcept(connection: SshConnection, target: ComposeTarget, held: readonly string[], logger: Logger): Promise<void> {
  for (const service of held) {
    if (!SERVICE_NAME_PATTERN.test(service)) throw new Error(`Service name ${JSON.stringify(service)} does not match ${SERVICE_NAME_PATTERN.source}.`);
  }
  logger.info(`docker compose up -d --remove-orphans (project ${target.project}, TITAN_MODE=${target.mode}), all but ${held.join(', ')}`);
  await runHostScript(connection, null, 'titan-up-except', [held.join(' '), ...composeArgv(target, [])], { timeoutMs: COMPOSE_TIMEOUT_MS, logOutput: 'info' });
}
