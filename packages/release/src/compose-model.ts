/**
 * The compose model of a release: what each compose service is made of, as far as deciding "did it
 * change?" needs: its definition in every compose file (in -f order) and the release files it reads
 * through bind mounts or env_file (paths relative to the project directory, which is the release
 * folder); the top-level sections; the secrets its services read as files. Read from a bundle on
 * the runner (local-bundle.ts) or from a release folder on the host (packages/deploy release-view).
 * Sign reads the same services and local paths from the release source (release-source.ts).
 */
import { posix } from 'node:path';
import { parse } from 'yaml';
import { DIGEST_OVERRIDE_FILE, type ReleaseManifest } from './manifest.js';
import { stackSecretsOf, type StackSecret } from './stack-secrets.js';

export interface ComposeServiceView {
  /** The service's section of each compose file that defines it, in -f order, as JSON text. */
  readonly definition: string;
  /** Release paths (files or folders) the service reads: relative bind mount sources and env files. */
  readonly releasePaths: readonly string[];
  /** The definition mentions TITAN_MODE (its containers change when the mode does). */
  readonly usesMode: boolean;
}

export interface ComposeView {
  readonly services: ReadonlyMap<string, ComposeServiceView>;
  /** Everything but `services` (networks, volumes, ...) of every file, as JSON text. */
  readonly topLevel: string;
  /** The secrets the services read as files (the host files they need, under shared/). */
  readonly secrets: readonly StackSecret[];
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The compose files whose definitions make the model: all but the digest override (images come from the manifest). */
export function definitionFiles(manifest: ReleaseManifest): string[] {
  return manifest.compose.filter((f) => f !== DIGEST_OVERRIDE_FILE);
}

/** Reads the compose files (name -> text), in -f order, leaving out files not given. */
export function readComposeView(files: readonly { name: string; text: string }[]): ComposeView {
  const sections = new Map<string, unknown[]>();
  const topLevel: unknown[] = [];
  const documents: unknown[] = [];
  for (const file of files) {
    const doc: unknown = parse(file.text, { merge: true, uniqueKeys: false });
    documents.push(doc);
    if (!isMapping(doc)) continue;
    const { services, ...rest } = doc;
    topLevel.push({ file: file.name, rest });
    if (!isMapping(services)) continue;
    for (const [name, section] of Object.entries(services)) {
      const list = sections.get(name) ?? [];
      list.push({ file: file.name, section });
      sections.set(name, list);
    }
  }
  const services = new Map<string, ComposeServiceView>();
  for (const [name, list] of sections) {
    const definition = JSON.stringify(list);
    const paths = new Set<string>();
    for (const entry of list) {
      for (const local of localPathsOf(name, (entry as { section: unknown }).section)) if (local.path !== undefined) paths.add(local.path);
    }
    services.set(name, { definition, releasePaths: [...paths].sort(), usesMode: definition.includes('TITAN_MODE') });
  }
  return { services, topLevel: JSON.stringify(topLevel), secrets: stackSecretsOf(documents) };
}

/**
 * A local file or folder a service uses: a relative bind-mount source or an env_file entry. A
 * relative path the bundle does not ship would make Docker create an empty folder on the host in
 * its place (sign refuses it); a change to one the bundle ships changes the service (deploy).
 */
export interface ComposeLocalPath {
  readonly service: string;
  /** As written in the compose file (`./config/nats.conf`). */
  readonly written: string;
  /** Normalized, relative to the project folder (`config/nats.conf`, '' for the folder itself); undefined when it leaves it. */
  readonly path: string | undefined;
}

/** The services a compose document defines, in its order. */
export function composeServiceNames(document: unknown): string[] {
  const services = isMapping(document) ? document['services'] : undefined;
  return isMapping(services) ? Object.keys(services) : [];
}

/** Every local path the services of a compose document use. */
export function composeLocalPaths(document: unknown): ComposeLocalPath[] {
  const services = isMapping(document) ? document['services'] : undefined;
  if (!isMapping(services)) return [];
  return Object.entries(services).flatMap(([service, section]) => localPathsOf(service, section));
}

function localPathsOf(service: string, section: unknown): ComposeLocalPath[] {
  if (!isMapping(section)) return [];
  const out: ComposeLocalPath[] = [];
  const add = (written: string): void => {
    // Absolute, home-relative and interpolated paths are not the release's files.
    if (written.startsWith('/') || written.startsWith('~') || written.includes('$')) return;
    const normalized = posix.normalize(written).replace(/\/+$/, '');
    const leaves = normalized === '..' || normalized.startsWith('../');
    out.push({ service, written, path: leaves ? undefined : normalized === '.' ? '' : normalized });
  };
  const volumes = section['volumes'];
  if (Array.isArray(volumes)) {
    for (const volume of volumes) {
      if (typeof volume === 'string') {
        const source = volume.split(':')[0] ?? '';
        // A named volume has no "." or "/" at the start; a relative bind mount starts with "." (./x, ../x).
        if (source.startsWith('.')) add(source);
      } else if (isMapping(volume) && volume['type'] === 'bind' && typeof volume['source'] === 'string') {
        add(volume['source']);
      }
    }
  }
  const envFile = section['env_file'];
  for (const entry of Array.isArray(envFile) ? envFile : [envFile]) {
    if (typeof entry === 'string') add(entry);
    else if (isMapping(entry) && typeof entry['path'] === 'string') add(entry['path']);
  }
  return out;
}
