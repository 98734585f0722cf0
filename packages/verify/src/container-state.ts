/**
 * What the verifier knows about one container of the project, read from `docker inspect` with a
 * format that picks only the fields it needs. Never the environment (Config.Env holds the stack's
 * secrets): nothing secret crosses the SSH connection or reaches a report.
 */
export interface PublishedPort {
  readonly containerPort: number;
  readonly protocol: string;
  /** As Docker reports it: `127.0.0.1`, `0.0.0.0`, `::1`, `::` or empty. */
  readonly hostIp: string;
  readonly hostPort: number;
}

export interface HealthcheckLogEntry {
  readonly exitCode: number;
  readonly output: string;
  readonly end: string;
}

export interface ContainerHealth {
  /** `starting`, `healthy` or `unhealthy`. */
  readonly status: string;
  readonly failingStreak: number;
  /** Docker's last healthcheck run, when there was one. */
  readonly last: HealthcheckLogEntry | undefined;
}

export interface ContainerState {
  readonly id: string;
  /** Without Docker's leading `/`. */
  readonly name: string;
  /** The compose service label; undefined for a container without one. */
  readonly service: string | undefined;
  /** A `docker compose run` container (label com.docker.compose.oneoff=True). */
  readonly oneOff: boolean;
  /** Config.Image: the reference the container was created from (`repo@sha256:...` when pinned). */
  readonly configImage: string;
  /** The image id (`sha256:...`) the container runs. */
  readonly imageId: string;
  /** State.Status: created, running, paused, restarting, removing, exited or dead. */
  readonly status: string;
  readonly exitCode: number;
  /** State.Error (why Docker could not start it), often empty. */
  readonly error: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Undefined when the container has no healthcheck. */
  readonly health: ContainerHealth | undefined;
  readonly ports: readonly PublishedPort[];
}

/** `docker inspect --format` for one container: one JSON line. */
export const CONTAINER_INSPECT_FORMAT =
  '{"id":{{json .Id}},"name":{{json .Name}},"imageId":{{json .Image}},"configImage":{{json .Config.Image}},' +
  '"service":{{json (index .Config.Labels "com.docker.compose.service")}},' +
  '"oneOff":{{json (index .Config.Labels "com.docker.compose.oneoff")}},' +
  '"state":{{json .State}},"ports":{{json .NetworkSettings.Ports}}}';

/** `docker image inspect --format` for one image: one JSON line. */
export const IMAGE_INSPECT_FORMAT = '{"id":{{json .Id}},"repoDigests":{{json .RepoDigests}}}';

export interface ImageState {
  readonly id: string;
  /** `repo@sha256:...` for every registry digest this image was pulled or pushed by. */
  readonly repoDigests: readonly string[];
}

export class InspectFormatError extends Error {
  override readonly name = 'InspectFormatError';
}

export function parseContainerLine(line: string): ContainerState {
  const value = record(parseJson(line, 'container'), 'container');
  const state = record(value['state'] ?? {}, 'container state');
  const service = value['service'];
  const oneOff = value['oneOff'];
  return {
    id: str(value['id'], 'container id'),
    name: str(value['name'], 'container name').replace(/^\//, ''),
    service: typeof service === 'string' && service !== '' ? service : undefined,
    oneOff: typeof oneOff === 'string' && oneOff.toLowerCase() === 'true',
    configImage: str(value['configImage'], 'Config.Image'),
    imageId: str(value['imageId'], 'image id'),
    status: str(state['Status'], 'State.Status'),
    exitCode: typeof state['ExitCode'] === 'number' ? state['ExitCode'] : 0,
    error: typeof state['Error'] === 'string' ? state['Error'] : '',
    startedAt: typeof state['StartedAt'] === 'string' ? state['StartedAt'] : '',
    finishedAt: typeof state['FinishedAt'] === 'string' ? state['FinishedAt'] : '',
    health: healthOf(state['Health']),
    ports: portsOf(value['ports']),
  };
}

export function parseImageLine(line: string): ImageState {
  const value = record(parseJson(line, 'image'), 'image');
  const digests = value['repoDigests'];
  return {
    id: str(value['id'], 'image id'),
    repoDigests: Array.isArray(digests) ? digests.filter((d): d is string => typeof d === 'string') : [],
  };
}

function healthOf(value: unknown): ContainerHealth | undefined {
  if (value === null || value === undefined || typeof value !== 'object') return undefined;
  const health = value as Record<string, unknown>;
  const log = Array.isArray(health['Log']) ? (health['Log'] as unknown[]) : [];
  const lastValue = log[log.length - 1];
  let last: HealthcheckLogEntry | undefined;
  if (lastValue !== null && typeof lastValue === 'object') {
    const entry = lastValue as Record<string, unknown>;
    last = {
      exitCode: typeof entry['ExitCode'] === 'number' ? entry['ExitCode'] : -1,
      output: typeof entry['Output'] === 'string' ? entry['Output'] : '',
      end: typeof entry['End'] === 'string' ? entry['End'] : '',
    };
  }
  return {
    status: typeof health['Status'] === 'string' ? health['Status'] : 'unknown',
    failingStreak: typeof health['FailingStreak'] === 'number' ? health['FailingStreak'] : 0,
    last,
  };
}

function portsOf(value: unknown): PublishedPort[] {
  if (value === null || value === undefined || typeof value !== 'object') return [];
  const ports: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(value as Record<string, unknown>)) {
    const match = /^(\d+)\/([a-z]+)$/.exec(key);
    if (match === null || !Array.isArray(bindings)) continue;
    for (const binding of bindings as unknown[]) {
      if (binding === null || typeof binding !== 'object') continue;
      const b = binding as Record<string, unknown>;
      const hostPort = Number(b['HostPort']);
      if (!Number.isInteger(hostPort) || hostPort <= 0) continue;
      ports.push({
        containerPort: Number(match[1]),
        protocol: match[2] ?? 'tcp',
        hostIp: typeof b['HostIp'] === 'string' ? b['HostIp'] : '',
        hostPort,
      });
    }
  }
  return ports;
}

function parseJson(line: string, what: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error: unknown) {
    throw new InspectFormatError(
      `docker ${what} inspect printed a line that is not JSON (${error instanceof Error ? error.message : String(error)}): ${line.slice(0, 120)}`,
    );
  }
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InspectFormatError(`docker inspect: the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new InspectFormatError(`docker inspect: ${what} is missing or not a string`);
  return value;
}
