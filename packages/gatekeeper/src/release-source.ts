import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseLocatedYaml, scalarText, valueOf, type LocatedNode, type Place } from './located-yaml.js';

/**
 * A release source as `services.yml` describes it: the registry, the Compose files, the policy file,
 * the config and migrations folders, the env template, and the images the release builds (one per
 * Compose service). Paths are absolute here, resolved against the folder holding services.yml.
 */
export interface ReleaseSource {
  dir: string;
  servicesFile: string;
  registry: string;
  composeFiles: string[];
  policyFile: string;
  configDir: string;
  migrationsDir: string;
  envTemplate: string | undefined;
  images: BuiltImage[];
}

export interface BuiltImage {
  service: string;
  image: string;
  /** The build context folder (absolute), when services.yml names one. */
  context: string | undefined;
  /** Where the entry is written in services.yml. */
  place: Place;
}

/** services.yml is missing or does not say what the gate needs: the caller's `source` is wrong. */
export class ReleaseSourceError extends Error {
  override readonly name = 'ReleaseSourceError';
}

export const SERVICES_FILE = 'services.yml';

export async function readReleaseSource(sourceDir: string): Promise<ReleaseSource> {
  const dir = resolve(sourceDir);
  const servicesFile = join(dir, SERVICES_FILE);
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new ReleaseSourceError(`${sourceDir} is not a folder: point it at the release source (the folder holding ${SERVICES_FILE})`);
  }
  let text: string;
  try {
    text = await readFile(servicesFile, 'utf8');
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new ReleaseSourceError(`${servicesFile}: cannot read it (${code}); the release source must hold a ${SERVICES_FILE}`);
  }
  let root: LocatedNode | undefined;
  try {
    root = parseLocatedYaml(text, servicesFile).root;
  } catch (error: unknown) {
    throw new ReleaseSourceError(error instanceof Error ? error.message : String(error));
  }
  const release = valueOf(root, 'release');
  const requiredPath = (key: string): string => {
    const value = scalarText(valueOf(release, key));
    if (value === undefined || value === '') {
      throw new ReleaseSourceError(`${servicesFile}: release.${key} is missing; it names the ${describe(key)} relative to ${SERVICES_FILE}`);
    }
    return resolve(dir, value);
  };
  const compose = valueOf(release, 'compose');
  const composeFiles =
    compose?.kind === 'seq'
      ? compose.items.map((item) => scalarText(item)).filter((f): f is string => f !== undefined && f !== '')
      : [];
  if (composeFiles.length === 0) {
    throw new ReleaseSourceError(`${servicesFile}: release.compose must list the Compose files, base file first (e.g. [docker-compose.yml, docker-compose.prod.yml])`);
  }
  const template = scalarText(valueOf(release, 'env-template'));
  const imagesNode = valueOf(root, 'images');
  const images: BuiltImage[] = [];
  for (const item of imagesNode?.kind === 'seq' ? imagesNode.items : []) {
    const service = scalarText(valueOf(item, 'service'));
    const image = scalarText(valueOf(item, 'image'));
    const context = scalarText(valueOf(item, 'context'));
    if (service === undefined || image === undefined) {
      throw new ReleaseSourceError(`${servicesFile}:${item.line}: every images entry needs a service and an image`);
    }
    images.push({ service, image, context: context === undefined || context === '' ? undefined : resolve(dir, context), place: { file: item.file, line: item.line } });
  }
  return {
    dir,
    servicesFile,
    registry: scalarText(valueOf(root, 'registry')) ?? '',
    composeFiles: composeFiles.map((f) => resolve(dir, f)),
    policyFile: requiredPath('policy'),
    configDir: requiredPath('config'),
    migrationsDir: requiredPath('migrations'),
    envTemplate: template === undefined || template === '' ? undefined : resolve(dir, template),
    images,
  };
}

function describe(key: string): string {
  switch (key) {
    case 'policy':
      return 'policy file';
    case 'migrations':
      return 'migrations folder';
    default:
      return `${key} folder`;
  }
}
