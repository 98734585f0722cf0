import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { invalidRegistryReason, unsafeNameReason } from './image-name.js';
import { MatrixInputError } from './matrix-input-error.js';

/**
 * services.yml: what the release is made of and which images to build. Every path in it is relative
 * to the file itself. Read strictly: an unknown key, a duplicate service, a missing context or
 * Dockerfile, an unsafe name or a malformed registry is an error naming the file, the line and the
 * fix, and every problem is reported at once.
 */
export interface ImageSpec {
  /** The compose service name; also the name of the digest file a build leg leaves. */
  service: string;
  /** The repository name under the registry. */
  image: string;
  /** Absolute path of the build context (a directory). */
  context: string;
  /** Absolute path of the Dockerfile (a file, inside the context or not). */
  dockerfile: string;
  /** Build args as [name, value], sorted by name. */
  buildArgs: readonly (readonly [string, string])[];
}

/** The release section: absolute paths of what the signed bundle ships. */
export interface ReleaseLayout {
  compose: string[];
  policy?: string;
  config?: string;
  migrations?: string;
  envTemplate?: string;
}

export interface ServicesFile {
  /** Absolute path of services.yml. */
  path: string;
  /** The directory every path in the file is relative to. */
  dir: string;
  /** The registry from the file, when it names one. */
  registry?: string;
  release: ReleaseLayout;
  images: ImageSpec[];
}

const TOP_KEYS = ['registry', 'release', 'images'] as const;
const RELEASE_KEYS = ['compose', 'policy', 'config', 'migrations', 'env-template'] as const;
const IMAGE_KEYS = ['service', 'image', 'context', 'dockerfile', 'build-args'] as const;
const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type PathKind = 'file' | 'directory';

interface PendingPath {
  node: Node;
  what: string;
  relativePath: string;
  kind: PathKind;
}

/** Reads and validates services.yml; `displayPath` is how errors name it (default: as given). */
export async function loadServicesFile(path: string, displayPath: string = path): Promise<ServicesFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    throw new MatrixInputError(
      'services-file',
      code === 'ENOENT'
        ? `${displayPath} does not exist: set the input services-file to the path of your services.yml (relative to the workspace)`
        : `${displayPath} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      [],
      { cause: error },
    );
  }
  return parseServicesFile(text, resolve(path), displayPath);
}

/** Validates the text of a services.yml that lives at `absolutePath`. */
export async function parseServicesFile(text: string, absolutePath: string, displayPath: string): Promise<ServicesFile> {
  const reader = new ServicesFileReader(text, absolutePath, displayPath);
  const file = reader.read();
  await reader.checkPaths();
  reader.throwIfProblems();
  return file;
}

class ServicesFileReader {
  private readonly problems: string[] = [];
  private readonly lines = new LineCounter();
  private readonly pending: PendingPath[] = [];
  private readonly dir: string;

  constructor(
    private readonly text: string,
    private readonly absolutePath: string,
    private readonly displayPath: string,
  ) {
    this.dir = dirname(absolutePath);
  }

  read(): ServicesFile {
    const empty: ServicesFile = { path: this.absolutePath, dir: this.dir, release: { compose: [] }, images: [] };
    const doc = parseDocument(this.text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const error of doc.errors) {
      const at = this.lines.linePos(error.pos[0]);
      this.problems.push(`${this.displayPath}:${at.line}:${at.col}: ${error.message.split('\n')[0] ?? ''}`);
    }
    if (doc.errors.length > 0) return empty;
    const root = doc.contents;
    if (!isMap(root)) {
      this.problems.push(`${this.displayPath}: expected a mapping with registry, release and images`);
      return empty;
    }
    const top = this.mapping(root, TOP_KEYS, 'the top level');
    const file: ServicesFile = { ...empty };
    const registry = top.get('registry');
    if (registry !== undefined) {
      const value = this.string(registry, 'registry');
      if (value !== undefined) {
        const reason = invalidRegistryReason(value);
        if (reason === undefined) file.registry = value;
        else this.problem(registry, `registry: ${reason}`);
      }
    }
    const release = top.get('release');
    if (release !== undefined) file.release = this.release(release);
    const images = top.get('images');
    if (images === undefined) this.problem(root, 'images: missing; list one entry per image to build');
    else file.images = this.images(images);
    return file;
  }

  async checkPaths(): Promise<void> {
    for (const item of this.pending) {
      const absolute = resolve(this.dir, item.relativePath);
      let found: PathKind | 'other' | undefined;
      try {
        const info = await stat(absolute);
        found = info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
      } catch {
        found = undefined;
      }
      const shown = relative(process.cwd(), absolute) || '.';
      if (found === undefined) {
        this.problem(item.node, `${item.what}: ${item.relativePath} does not exist (looked for ${shown}; paths are relative to ${this.displayPath})`);
      } else if (found !== item.kind) {
        this.problem(item.node, `${item.what}: ${item.relativePath} is not a ${item.kind}`);
      }
    }
  }

  throwIfProblems(): void {
    if (this.problems.length === 1) throw new MatrixInputError('services-file', this.problems[0] ?? '', []);
    if (this.problems.length > 1) {
      throw new MatrixInputError('services-file', `${this.displayPath} has ${this.problems.length} problems:`, this.problems);
    }
  }

  private release(node: Node): ReleaseLayout {
    const layout: ReleaseLayout = { compose: [] };
    if (!isMap(node)) {
      this.problem(node, `release: expected a mapping with ${RELEASE_KEYS.join(', ')}`);
      return layout;
    }
    const keys = this.mapping(node, RELEASE_KEYS, 'release');
    const compose = keys.get('compose');
    if (compose !== undefined) {
      if (!isSeq(compose)) this.problem(compose, 'release.compose: expected a list of compose files');
      else {
        compose.items.forEach((item, i) => {
          const path = this.relativePath(item as Node, `release.compose[${i}]`, 'file');
          if (path !== undefined) layout.compose.push(resolve(this.dir, path));
        });
      }
    }
    const single = (key: (typeof RELEASE_KEYS)[number], kind: PathKind): string | undefined => {
      const value = keys.get(key);
      const path = value === undefined ? undefined : this.relativePath(value, `release.${key}`, kind);
      return path === undefined ? undefined : resolve(this.dir, path);
    };
    const policy = single('policy', 'file');
    const config = single('config', 'directory');
    const migrations = single('migrations', 'directory');
    const envTemplate = single('env-template', 'file');
    if (policy !== undefined) layout.policy = policy;
    if (config !== undefined) layout.config = config;
    if (migrations !== undefined) layout.migrations = migrations;
    if (envTemplate !== undefined) layout.envTemplate = envTemplate;
    return layout;
  }

  private images(node: Node): ImageSpec[] {
    if (!isSeq(node)) {
      this.problem(node, 'images: expected a list of { service, image, context, dockerfile, build-args }');
      return [];
    }
    if (node.items.length === 0) this.problem(node, 'images: the list is empty; list one entry per image to build');
    const specs: ImageSpec[] = [];
    const services = new Map<string, number>();
    const images = new Map<string, number>();
    node.items.forEach((item, index) => {
      const where = `images[${index}]`;
      if (!isMap(item)) {
        this.problem(item as Node, `${where}: expected a mapping with ${IMAGE_KEYS.join(', ')}`);
        return;
      }
      const keys = this.mapping(item, IMAGE_KEYS, where);
      const service = this.requiredName(item, keys.get('service'), `${where}.service`, 'service');
      const label = service === undefined ? where : `${where} (${service})`;
      const image = this.requiredName(item, keys.get('image'), `${label}.image`, 'image');
      if (service !== undefined) {
        const first = services.get(service);
        if (first !== undefined) this.problem(keys.get('service') ?? item, `${where}.service: "${service}" is listed twice (first at images[${first}]); each service has one image`);
        else services.set(service, index);
      }
      if (image !== undefined) {
        const first = images.get(image);
        if (first !== undefined) this.problem(keys.get('image') ?? item, `${label}.image: "${image}" is also the image of images[${first}]; two services cannot push to one repository`);
        else images.set(image, index);
      }
      const contextNode = keys.get('context');
      const context = contextNode === undefined ? undefined : this.relativePath(contextNode, `${label}.context`, 'directory');
      if (contextNode === undefined) this.problem(item, `${label}.context: missing; give the build context directory`);
      const dockerfileNode = keys.get('dockerfile');
      const dockerfile =
        dockerfileNode === undefined
          ? context === undefined
            ? undefined
            : this.defaultDockerfile(item, context, label)
          : this.relativePath(dockerfileNode, `${label}.dockerfile`, 'file');
      const buildArgsNode = keys.get('build-args');
      const buildArgs = buildArgsNode === undefined ? [] : this.buildArgs(buildArgsNode, `${label}.build-args`);
      if (service !== undefined && image !== undefined && context !== undefined && dockerfile !== undefined) {
        specs.push({
          service,
          image,
          context: resolve(this.dir, context),
          dockerfile: resolve(this.dir, dockerfile),
          buildArgs,
        });
      }
    });
    return specs;
  }

  private defaultDockerfile(item: Node, context: string, label: string): string {
    const path = `${context.replace(/\/+$/, '')}/Dockerfile`;
    this.pending.push({ node: item, what: `${label}.dockerfile (default: <context>/Dockerfile)`, relativePath: path, kind: 'file' });
    return path;
  }

  private buildArgs(node: Node, where: string): [string, string][] {
    const args = new Map<string, string>();
    const add = (name: string, value: string, at: Node): void => {
      if (!BUILD_ARG_NAME.test(name)) this.problem(at, `${where}: "${name}" is not a valid build arg name (${BUILD_ARG_NAME.source})`);
      else if (/[\r\n]/.test(value)) this.problem(at, `${where}.${name}: the value spans lines; build args are one line each`);
      else if (args.has(name)) this.problem(at, `${where}: ${name} is given twice`);
      else args.set(name, value);
    };
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const value = pair.value as Node | null;
        if (!isScalar(key) || typeof key.value !== 'string') {
          this.problem(key ?? node, `${where}: every key must be a build arg name`);
          continue;
        }
        const scalar = isScalar(value) ? value.value : undefined;
        if (value === null || !(typeof scalar === 'string' || typeof scalar === 'number' || typeof scalar === 'boolean')) {
          this.problem(value ?? key, `${where}.${key.value}: expected a string, number or boolean value`);
          continue;
        }
        // A number or boolean as written (`1.10` stays "1.10", not "1.1").
        add(key.value, typeof scalar === 'string' ? scalar : ((value as { source?: string }).source ?? String(scalar)), value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) {
        const entry = isScalar(item) && typeof item.value === 'string' ? item.value : undefined;
        const eq = entry?.indexOf('=') ?? -1;
        if (entry === undefined || eq <= 0) {
          this.problem((item as Node | null) ?? node, `${where}: expected NAME=value entries`);
          continue;
        }
        add(entry.slice(0, eq), entry.slice(eq + 1), item as Node);
      }
    } else {
      this.problem(node, `${where}: expected a mapping of NAME: value`);
    }
    return [...args.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private requiredName(item: Node, node: Node | undefined, where: string, kind: 'service' | 'image'): string | undefined {
    if (node === undefined) {
      this.problem(item, `${where}: missing`);
      return undefined;
    }
    const value = this.string(node, where);
    if (value === undefined) return undefined;
    const reason = unsafeNameReason(value, kind);
    if (reason !== undefined) {
      this.problem(node, `${where}: ${reason}`);
      return undefined;
    }
    return value;
  }

  private relativePath(node: Node, where: string, kind: PathKind): string | undefined {
    const value = this.string(node, where);
    if (value === undefined) return undefined;
    if (value === '' || isAbsolute(value) || value.includes('\0')) {
      this.problem(node, `${where}: "${value}" must be a path relative to ${this.displayPath}`);
      return undefined;
    }
    this.pending.push({ node, what: where, relativePath: value, kind });
    return value;
  }

  private string(node: Node, where: string): string | undefined {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    this.problem(node, `${where}: expected a string`);
    return undefined;
  }

  /** The values of a mapping by key; unknown keys are problems. */
  private mapping(node: YAMLMap, known: readonly string[], where: string): Map<string, Node> {
    const values = new Map<string, Node>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const name = isScalar(key) ? String(key.value) : undefined;
      if (name === undefined || !known.includes(name)) {
        this.problem(key ?? node, `${where}: unknown key "${name ?? '?'}" (known keys: ${known.join(', ')})`);
        continue;
      }
      values.set(name, (pair.value as Node | null) ?? (key as Node));
    }
    return values;
  }

  private problem(node: Node, message: string): void {
    const offset = node.range?.[0];
    const at = offset === undefined ? undefined : this.lines.linePos(offset);
    this.problems.push(`${this.displayPath}${at ? `:${at.line}:${at.col}` : ''}: ${message}`);
  }
}
