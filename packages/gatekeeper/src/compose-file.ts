import { readFile } from 'node:fs/promises';
import { isScalar, visit } from 'yaml';
import { findVariableReferences, type VariableReference } from './compose-interpolation.js';
import { parseLocatedYaml, type LocatedDocument, type LocatedMap } from './located-yaml.js';

/** One Compose file, parsed with the line of every value, and the variables its values reference. */
export interface ComposeFile {
  /** As named in findings (a display path). */
  file: string;
  document: LocatedDocument;
  /** The top-level `services:` mapping, when there is one. */
  services: LocatedMap | undefined;
  references: LocatedReference[];
}

export interface LocatedReference extends VariableReference {
  file: string;
  line: number;
}

export class ComposeFileError extends Error {
  override readonly name = 'ComposeFileError';
  readonly file: string;
  readonly line: number | null;
  constructor(
    message: string,
    file: string,
    line: number | null,
  ) {
    super(message);
    this.file = file;
    this.line = line;
  }
}

export async function readComposeFile(path: string, file: string): Promise<ComposeFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new ComposeFileError(`${file}: cannot read the Compose file (${code})`, file, null);
  }
  return parseComposeText(text, file);
}

export function parseComposeText(text: string, file: string): ComposeFile {
  let document: LocatedDocument;
  try {
    document = parseLocatedYaml(text, file);
  } catch (error: unknown) {
    const line = error instanceof Error && 'line' in error && typeof error.line === 'number' ? error.line : null;
    throw new ComposeFileError(error instanceof Error ? error.message : String(error), file, line);
  }
  const root = document.root;
  if (root !== undefined && root.kind !== 'map') {
    throw new ComposeFileError(`${file}: a Compose file must be a mapping (services:, volumes:, ...)`, file, root.line);
  }
  const servicesNode = root?.entries.get('services')?.value;
  if (servicesNode !== undefined && servicesNode.kind !== 'map' && !(servicesNode.kind === 'scalar' && servicesNode.value === null)) {
    throw new ComposeFileError(`${file}:${servicesNode.line}: services must be a mapping of service names`, file, servicesNode.line);
  }
  return {
    file,
    document,
    services: servicesNode?.kind === 'map' ? servicesNode : undefined,
    references: locateReferences(document, file),
  };
}

function locateReferences(located: LocatedDocument, file: string): LocatedReference[] {
  const references: LocatedReference[] = [];
  visit(located.document, {
    Scalar(key, node) {
      if (key === 'key' || !isScalar(node) || node.range === undefined || node.range === null) return;
      const [start, end] = node.range;
      const source = located.text.slice(start, end);
      if (!source.includes('$')) return;
      for (const reference of findVariableReferences(source)) {
        references.push({ ...reference, file, line: located.lineCounter.linePos(start + reference.offset).line });
      }
    },
  });
  return references;
}
