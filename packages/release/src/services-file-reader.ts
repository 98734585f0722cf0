import { lstat, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { bundlePathProblem } from './bundle-path.js';
import { buildArgsOf } from './build-args.js';
import { imageNameProblem, registryProblem, serviceNameProblem } from './image-reference.js';
import { DIGEST_OVERRIDE_FILE, MANIFEST_FILE, SIGNATURE_FILE } from './manifest.js';
import { valueNamesOf } from './production-value-names.js';
import type { ReleaseFiles, ServiceImage, ServicesFile, ServicesFileProblem } from './services-file.js';

const TOP_KEYS = ['registry', 'release', 'images', 'values'] as const;
const RELEASE_KEYS = ['compose', 'policy', 'config', 'migrations', 'env-template'] as const;
const IMAGE_KEYS = ['service', 'image', 'context', 'dockerfile', 'build-args'] as const;
const RESERVED = [MANIFEST_FILE, SIGNATURE_FILE, DIGEST_OVERRIDE_FILE];

type PathKind = 'file' | 'folder';

interface PendingPath {
  readonly node: Node;
  readonly what: string;
  readonly path: string;
  readonly kind: PathKind;
}

/**
 * The walk over services.yml's YAML: each rule of the schema, every problem collected at the line of
 * the node at fault (messages never name the file: each reader adds it as it shows the file).
 */
export class ServicesFileReader {
  private readonly found: ServicesFileProblem[] = [];
  private readonly lines = new LineCounter();
  private readonly pending: PendingPath[] = [];
  private readonly dir: string;
  private readonly text: string;
  private readonly absolutePath: string;

  // No parameter properties: the benchmarks run this file with Node's type stripping.
  constructor(text: string, absolutePath: string) {
    this.text = text;
    this.absolutePath = absolutePath;
    this.dir = dirname(absolutePath);
  }

  problems(): readonly ServicesFileProblem[] {
    return [...this.found].sort((a, b) => a.line - b.line);
  }

  async read(): Promise<ServicesFile | undefined> {
    const doc = parseDocument(this.text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const error of doc.errors) this.found.push({ line: this.lines.linePos(error.pos[0]).line, message: error.message.split('\n')[0] ?? '' });
    if (doc.errors.length > 0) return undefined;
    const root = doc.contents;
    if (!isMap(root)) {
      this.found.push({ line: 1, message: 'expected a mapping with registry, release and images' });
      return undefined;
    }
    const top = this.mapping(root, TOP_KEYS, 'the top level');
    const registryNode = top.get('registry');
    const registry = registryNode === undefined ? undefined : this.checked(registryNode, 'registry', registryProblem);
    const releaseNode = top.get('release');
    if (releaseNode === undefined) this.problem(root, 'release: missing; name the compose files, policy, config and migrations folders the release ships');
    const release = releaseNode === undefined ? undefined : this.release(releaseNode);
    const imagesNode = top.get('images');
    if (imagesNode === undefined) this.problem(root, 'images: missing; list one entry per compose service the release builds');
    const images = imagesNode === undefined ? [] : this.images(imagesNode);
    const valuesNode = top.get('values');
    const values = valuesNode === undefined ? { required: [], distinct: [] } : valueNamesOf(valuesNode, (at, message) => this.problem(at, message));
    await this.checkPaths();
    if (this.found.length > 0 || release === undefined) return undefined;
    return { path: this.absolutePath, dir: this.dir, ...(registry === undefined ? {} : { registry }), release, images, values };
  }

  private release(node: Node): ReleaseFiles | undefined {
    if (!isMap(node)) {
      this.problem(node, `release: expected a mapping with ${RELEASE_KEYS.join(', ')}`);
      return undefined;
    }
    const keys = this.mapping(node, RELEASE_KEYS, 'release');
    const compose: string[] = [];
    const composeNode = keys.get('compose');
    if (composeNode === undefined) this.problem(node, 'release.compose: missing; list the compose files, base file first (e.g. [docker-compose.yml, docker-compose.prod.yml])');
    else if (!isSeq(composeNode) || composeNode.items.length === 0) this.problem(composeNode, 'release.compose: expected a list of compose files, base file first');
    else {
      composeNode.items.forEach((item, i) => {
        const path = this.shippedPath(item as Node, `release.compose[${i}]`, 'file');
        if (path === undefined) return;
        if (compose.includes(path)) this.problem(item as Node, `release.compose[${i}]: ${path} is listed twice`);
        compose.push(path);
      });
    }
    const required = (key: 'policy' | 'config' | 'migrations', kind: PathKind, what: string): string | undefined => {
      const value = keys.get(key);
      if (value === undefined) this.problem(node, `release.${key}: missing; name the ${what}`);
      return value === undefined ? undefined : this.shippedPath(value, `release.${key}`, kind);
    };
    const policy = required('policy', 'file', 'policy file (inside the config folder)');
    const config = required('config', 'folder', 'config folder the services mount');
    const migrations = required('migrations', 'folder', 'migrations folder (it may hold no migration yet)');
    if (policy !== undefined && config !== undefined && !policy.startsWith(`${config}/`)) {
      this.problem(keys.get('policy') ?? node, `release.policy: ${policy} must be inside the config folder (${config}/), which the bundle ships`);
    }
    const templateNode = keys.get('env-template');
    const envTemplate = templateNode === undefined ? undefined : this.relativePath(templateNode, 'release.env-template', 'file');
    if (policy === undefined || config === undefined || migrations === undefined || compose.length === 0) return undefined;
    return { compose, policy, config, migrations, ...(envTemplate === undefined ? {} : { envTemplate }) };
  }

  private images(node: Node): ServiceImage[] {
    if (!isSeq(node)) {
      this.problem(node, `images: expected a list of { ${IMAGE_KEYS.join(', ')} }`);
      return [];
    }
    if (node.items.length === 0) this.problem(node, 'images: the list is empty; list one entry per compose service the release builds');
    const images: ServiceImage[] = [];
    const services = new Map<string, number>();
    const repositories = new Map<string, number>();
    node.items.forEach((item, index) => {
      const where = `images[${index}]`;
      if (!isMap(item)) {
        this.problem(item as Node, `${where}: expected a mapping with ${IMAGE_KEYS.join(', ')}`);
        return;
      }
      const keys = this.mapping(item, IMAGE_KEYS, where);
      const serviceNode = keys.get('service');
      if (serviceNode === undefined) this.problem(item, `${where}.service: missing; give the compose service that runs this image`);
      const service = serviceNode === undefined ? undefined : this.checked(serviceNode, `${where}.service`, serviceNameProblem);
      const label = service === undefined ? where : `${where} (${service})`;
      const imageNode = keys.get('image');
      if (imageNode === undefined) this.problem(item, `${label}.image: missing; give the repository below the registry`);
      const image = imageNode === undefined ? undefined : this.checked(imageNode, `${label}.image`, imageNameProblem);
      if (service !== undefined && serviceNode !== undefined) {
        const first = services.get(service.toLowerCase());
        if (first !== undefined) this.problem(serviceNode, `${where}.service: "${service}" is listed twice (first at images[${first}]); each service has one image`);
        else services.set(service.toLowerCase(), index);
      }
      if (image !== undefined && imageNode !== undefined) {
        const first = repositories.get(image);
        if (first !== undefined) this.problem(imageNode, `${label}.image: "${image}" is also the image of images[${first}]; two services cannot push to one repository`);
        else repositories.set(image, index);
      }
      const contextNode = keys.get('context');
      if (contextNode === undefined) this.problem(item, `${label}.context: missing; give the build context folder`);
      const context = contextNode === undefined ? undefined : this.relativePath(contextNode, `${label}.context`, 'folder');
      const dockerfileNode = keys.get('dockerfile');
      let dockerfile: string | undefined;
      if (dockerfileNode !== undefined) dockerfile = this.relativePath(dockerfileNode, `${label}.dockerfile`, 'file');
      else if (context !== undefined) {
        dockerfile = `${context.replace(/\/+$/, '')}/Dockerfile`;
        this.pending.push({ node: item, what: `${label}.dockerfile (default: <context>/Dockerfile)`, path: dockerfile, kind: 'file' });
      }
      const argsNode = keys.get('build-args');
      const args = argsNode === undefined ? { args: [], problems: [] } : buildArgsOf(argsNode, `${label}.build-args`);
      for (const p of args.problems) this.problem(p.node, p.message);
      if (service !== undefined && image !== undefined && context !== undefined && dockerfile !== undefined) {
        images.push({ service, image, context: resolve(this.dir, context), dockerfile: resolve(this.dir, dockerfile), buildArgs: args.args, line: this.lineOf(item) });
      }
    });
    return images;
  }

  private async checkPaths(): Promise<void> {
    for (const item of this.pending) {
      const absolute = resolve(this.dir, item.path);
      const info = await stat(absolute).catch(() => undefined);
      const found = info === undefined ? undefined : info.isDirectory() ? 'folder' : info.isFile() ? 'file' : 'other';
      const link = found === undefined && (await lstat(absolute).catch(() => undefined))?.isSymbolicLink() === true;
      if (link) this.problem(item.node, `${item.what}: ${item.path} is a dangling symbolic link and cannot be read; put the ${item.kind} itself there`);
      else if (found === undefined) this.problem(item.node, `${item.what}: ${item.path} does not exist (paths are relative to the folder of services.yml)`);
      else if (found !== item.kind) this.problem(item.node, `${item.what}: ${item.path} is not a ${item.kind}`);
    }
  }

  /** A path the bundle ships: inside the source folder, in the bundle's charset, not a name sign writes. */
  private shippedPath(node: Node, where: string, kind: PathKind): string | undefined {
    const value = this.string(node, where);
    if (value === undefined) return undefined;
    const problem = bundlePathProblem(value);
    if (problem !== undefined) {
      this.problem(node, `${where}: "${value}" is not a safe path inside the source folder: ${problem}`);
      return undefined;
    }
    if (RESERVED.includes(value)) {
      this.problem(node, `${where}: ${value} is a name reserved for what sign writes into the bundle (${RESERVED.join(', ')}); rename the file`);
      return undefined;
    }
    this.pending.push({ node, what: where, path: value, kind });
    return value;
  }

  /** A path that is not shipped (a build context, a Dockerfile, the env template): relative, may leave the folder. */
  private relativePath(node: Node, where: string, kind: PathKind): string | undefined {
    const value = this.string(node, where);
    if (value === undefined) return undefined;
    if (value === '' || isAbsolute(value) || value.includes('\0')) {
      this.problem(node, `${where}: "${value}" must be a path relative to the folder of services.yml`);
      return undefined;
    }
    this.pending.push({ node, what: where, path: value, kind });
    return value;
  }

  private checked(node: Node, where: string, problemOf: (value: string) => string | undefined): string | undefined {
    const value = this.string(node, where);
    const problem = value === undefined ? undefined : problemOf(value);
    if (problem !== undefined) this.problem(node, `${where}: ${problem}`);
    return problem === undefined ? value : undefined;
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

  private lineOf(node: Node): number {
    const offset = node.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  private problem(node: Node, message: string): void {
    this.found.push({ line: this.lineOf(node), message });
  }
}
