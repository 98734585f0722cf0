/**
 * services.yml, the one description of a release source that gatekeeper, matrix and sign all read
 * (see examples/titan/services.yml): the registry, the files the release ships (compose files, the
 * policy inside the config folder, the migrations folder, the env template) and the image each
 * compose service runs, with how to build it. One schema and one set of name rules
 * (image-reference.ts); every problem is reported at once, each at its line (services-file-reader.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorCode } from './error-code.js';
import { ReleaseSourceError } from './release-source-error.js';
import { ServicesFileReader } from './services-file-reader.js';

export const SERVICES_FILE = 'services.yml';

export interface ServiceImage {
  /** The compose service name; also the name of the digest file a build leg leaves. */
  readonly service: string;
  /** The repository name under the registry. */
  readonly image: string;
  /** Absolute path of the build context (a folder). */
  readonly context: string;
  /** Absolute path of the Dockerfile (a file, inside the context or not). */
  readonly dockerfile: string;
  /** Build args as [name, value], sorted by name. */
  readonly buildArgs: readonly (readonly [string, string])[];
  /** The line of the entry in services.yml. */
  readonly line: number;
}

/** What the signed bundle ships: paths relative to the folder of services.yml, as written. */
export interface ReleaseFiles {
  /** In `docker compose -f` order, base file first. */
  readonly compose: readonly string[];
  /** The policy file, inside the config folder. */
  readonly policy: string;
  readonly config: string;
  readonly migrations: string;
  readonly envTemplate?: string;
}

/** The production values a deploy needs (the gatekeeper's and provision's default set). */
export interface ProductionValueNames {
  /** Every variable that must hold a real production value. */
  readonly required: readonly string[];
  /** Required variables whose values must each differ from every other required one (one password per user). */
  readonly distinct: readonly string[];
}

export interface ServicesFile {
  /** Absolute path of services.yml. */
  readonly path: string;
  /** The folder every path in the file is relative to. */
  readonly dir: string;
  /** The registry, when the file names one (an action's registry input may name it instead). */
  readonly registry?: string;
  readonly release: ReleaseFiles;
  readonly images: readonly ServiceImage[];
  /** `values` of services.yml; none named when the file has no such section. */
  readonly values: ProductionValueNames;
}

/** One problem of services.yml, at its line. */
export interface ServicesFileProblem {
  readonly line: number;
  /** `images[2] (ledger).context: images/ledger does not exist`. */
  readonly message: string;
}

/** services.yml says something wrong: every problem, each as `<file>:LINE: ...` in the message. */
export class ServicesFileError extends ReleaseSourceError {
  override readonly name = 'ServicesFileError';
  readonly problems: readonly ServicesFileProblem[];

  constructor(displayPath: string, problems: readonly ServicesFileProblem[]) {
    super(displayPath, `has ${problems.length} problem(s):\n${problems.map((p) => `${displayPath}:${p.line}: ${p.message}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * Reads and checks the services.yml at `path`; `displayPath` is how messages name it (default: as
 * given). Throws ServicesFileError listing every problem, ReleaseSourceError when it cannot be read.
 */
export async function readServicesFile(path: string, displayPath: string = path): Promise<ServicesFile> {
  const checked = await checkServicesFile(path, displayPath);
  if (checked.file === undefined) throw new ServicesFileError(displayPath, checked.problems);
  return checked.file;
}

export type CheckedServicesFile = { file: ServicesFile; problems: readonly [] } | { file: undefined; problems: readonly ServicesFileProblem[] };

/** Every problem of the services.yml at `path` (none: `file` is what it says). */
export async function checkServicesFile(path: string, displayPath: string = path): Promise<CheckedServicesFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = errorCode(error);
    throw new ReleaseSourceError(
      displayPath,
      code === 'ENOENT' ? `does not exist: a release source holds a ${SERVICES_FILE} (see examples/titan/${SERVICES_FILE})` : `cannot be read (${code})`,
      { cause: error },
    );
  }
  const reader = new ServicesFileReader(text, resolve(path));
  const file = await reader.read();
  const problems = reader.problems();
  return problems.length === 0 && file !== undefined ? { file, problems: [] } : { file: undefined, problems };
}
