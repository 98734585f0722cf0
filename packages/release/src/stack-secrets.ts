import { posix } from 'node:path';

/**
 * The secrets a release hands its services as files: Compose top-level `secrets:` whose source is a
 * `file:` on the host, mounted read-only at `/run/secrets/<name>` in each service that names it
 * (the release's secrets overlay, e.g. examples/titan/docker-compose.secrets.yml). The files are
 * the host's own, never part of a bundle: they live under the application folder's `shared/`
 * (`shared/secrets/<file>`, 0600 or 0400, owned by the deploy user). A source is written relative to
 * the project directory, `<app>/current`, so `../shared/secrets/<file>`; Compose v1 and v2 both
 * resolve it lexically to `<app>/shared/secrets/<file>`.
 *
 * Each definition names the production value it holds with the extension field
 * `x-titan-variable: NAME` (Compose ignores `x-` fields): provision writes the file from that
 * variable of the values, the gatekeeper checks the value like every other production value.
 */
export const SECRET_VARIABLE_FIELD = 'x-titan-variable';
/** The folder of the application directory secret files must lie in. */
export const SHARED_DIR = 'shared';

export interface StackSecret {
  /** The top-level secret name (`binance_api_key`): `/run/secrets/<name>` in the container. */
  readonly name: string;
  /** The `file:` source as written; undefined when the definition has none (external, environment). */
  readonly file: string | undefined;
  /** The source relative to the application folder (`shared/secrets/binance_api_key`); undefined when it is not under shared/. */
  readonly hostPath: string | undefined;
  /** The production value it holds (`x-titan-variable`). */
  readonly variable: string | undefined;
  /** The services that name it, sorted. */
  readonly services: readonly string[];
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Where a `file:` source lands, relative to the application folder, when the project directory is
 * `<app>/current`: `shared/...`, or undefined when it lands anywhere else (or is absolute, or
 * interpolated: the app folder differs between hosts, and a variable would hide where it lands).
 */
export function secretHostPath(file: string): string | undefined {
  if (file.startsWith('/') || file.startsWith('~') || file.includes('$')) return undefined;
  const landed = posix.normalize(posix.join('current', file));
  if (!landed.startsWith(`${SHARED_DIR}/`) || landed.endsWith('/')) return undefined;
  return landed;
}

/** The secrets of compose documents given in `-f` order (later definitions win, field by field, as Compose merges them). */
export function stackSecretsOf(documents: readonly unknown[]): StackSecret[] {
  const definitions = new Map<string, Mapping>();
  const users = new Map<string, Set<string>>();
  for (const document of documents) {
    if (!isMapping(document)) continue;
    const secrets = document['secrets'];
    if (isMapping(secrets)) {
      for (const [name, definition] of Object.entries(secrets)) {
        definitions.set(name, { ...(definitions.get(name) ?? {}), ...(isMapping(definition) ? definition : {}) });
      }
    }
    const services = document['services'];
    if (!isMapping(services)) continue;
    for (const [service, section] of Object.entries(services)) {
      if (!isMapping(section) || !Array.isArray(section['secrets'])) continue;
      for (const entry of section['secrets'] as unknown[]) {
        const source = typeof entry === 'string' ? entry : isMapping(entry) && typeof entry['source'] === 'string' ? entry['source'] : undefined;
        if (source === undefined) continue;
        const set = users.get(source) ?? new Set<string>();
        set.add(service);
        users.set(source, set);
      }
    }
  }
  const names = [...new Set([...definitions.keys(), ...users.keys()])].sort();
  return names.map((name) => {
    const definition = definitions.get(name) ?? {};
    const file = typeof definition['file'] === 'string' ? definition['file'] : undefined;
    const variable = typeof definition[SECRET_VARIABLE_FIELD] === 'string' ? definition[SECRET_VARIABLE_FIELD] : undefined;
    return { name, file, hostPath: file === undefined ? undefined : secretHostPath(file), variable, services: [...(users.get(name) ?? [])].sort() };
  });
}

/** The host files the secrets need (sorted, once each): what a deploy checks before it stops anything. */
export function secretHostPaths(secrets: readonly StackSecret[]): string[] {
  return [...new Set(secrets.filter((s) => s.services.length > 0).flatMap((s) => (s.hostPath === undefined ? [] : [s.hostPath])))].sort();
}
