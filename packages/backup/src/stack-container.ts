/**
 * The running container of one Compose service of the stack, found the way both Compose versions
 * label their containers (`com.docker.compose.project`, `com.docker.compose.service`). The backup
 * then talks to it with `docker exec` (one process, no Compose start-up per command).
 */
import type { SshConnection } from '@titan/ssh/connection';

export const SERVICE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class StackServiceError extends Error {
  override readonly name = 'StackServiceError';
}

export interface ServiceContainer {
  readonly service: string;
  readonly id: string;
}

export async function findServiceContainer(connection: SshConnection, project: string, service: string): Promise<ServiceContainer> {
  if (!SERVICE_PATTERN.test(service)) throw new StackServiceError(`${JSON.stringify(service)} is not a Compose service name.`);
  const { stdout } = await connection.run(
    ['docker', 'ps', '--quiet', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`, '--filter', 'status=running'],
    { timeoutMs: 60_000 },
  );
  const ids = stdout.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
  if (ids.length === 0) {
    throw new StackServiceError(`No running container of service ${service} in Compose project ${project} on ${connection.host}: is the stack up (and are postgres-service, redis-service and project right)?`);
  }
  if (ids.length > 1) throw new StackServiceError(`Service ${service} of project ${project} has ${ids.length} running containers; the backup reads from exactly one.`);
  return { service, id: ids[0] ?? '' };
}
