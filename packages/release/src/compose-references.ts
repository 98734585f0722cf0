import { posix } from 'node:path';

/**
 * What a compose file says that sign must check: the services it defines, and the local files its
 * services use (relative bind-mount sources and env_file entries). A relative path that the bundle
 * does not ship would make Docker create an empty folder on the host in its place, so sign refuses
 * it up front.
 */
export interface ComposeLocalPath {
  readonly service: string;
  /** As written in the compose file (`./config/nats.conf`). */
  readonly written: string;
  /** Normalized, relative to the project folder (`config/nats.conf`); undefined when it leaves it. */
  readonly path: string | undefined;
}

export interface ComposeReferences {
  readonly services: readonly string[];
  readonly localPaths: readonly ComposeLocalPath[];
}

export function composeReferences(document: unknown): ComposeReferences {
  const services = record(record(document)?.['services']) ?? {};
  const localPaths: ComposeLocalPath[] = [];
  for (const [service, definition] of Object.entries(services)) {
    const spec = record(definition) ?? {};
    for (const volume of list(spec['volumes'])) {
      const source = bindSource(volume);
      if (source !== undefined) localPaths.push(localPath(service, source));
    }
    for (const envFile of envFiles(spec['env_file'])) localPaths.push(localPath(service, envFile));
  }
  return { services: Object.keys(services), localPaths };
}

function bindSource(volume: unknown): string | undefined {
  if (typeof volume === 'string') {
    const source = volume.split(':')[0] ?? '';
    return isRelative(source) ? source : undefined;
  }
  const long = record(volume);
  if (long?.['type'] !== 'bind' || typeof long['source'] !== 'string') return undefined;
  return isRelative(long['source']) ? long['source'] : undefined;
}

function envFiles(value: unknown): string[] {
  const entries = typeof value === 'string' ? [value] : list(value);
  return entries
    .map((entry) => (typeof entry === 'string' ? entry : record(entry)?.['path']))
    .filter((path): path is string => typeof path === 'string' && !path.startsWith('/') && !path.includes('$'));
}

/** `.`-relative and without interpolation: `./config/x`, `../x`, `.`; named volumes are not paths. */
function isRelative(source: string): boolean {
  return (source === '.' || source.startsWith('./') || source.startsWith('../')) && !source.includes('$');
}

function localPath(service: string, written: string): ComposeLocalPath {
  const normalized = posix.normalize(written).replace(/\/+$/, '');
  const leaves = normalized === '..' || normalized.startsWith('../') || normalized.startsWith('/');
  return { service, written, path: leaves ? undefined : normalized };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
