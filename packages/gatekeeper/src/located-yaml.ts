import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

/**
 * A YAML document as a tree in which every node remembers the file and the 1-based line where it was
 * written, so that a policy check can say exactly where a value was set. Aliases are resolved (the
 * line is the anchor's, where the value was written) and YAML merge keys (`<<: *anchor`) are
 * applied, explicit keys winning, as Compose does. Tags (`!reset`, `!override`) are kept.
 */
export interface Place {
  file: string;
  line: number;
}

export interface LocatedScalar extends Place {
  kind: 'scalar';
  value: string | number | boolean | null;
  tag: string | undefined;
}

export interface LocatedSeq extends Place {
  kind: 'seq';
  items: LocatedNode[];
  tag: string | undefined;
}

export interface LocatedEntry {
  key: string;
  /** Where the key is written: the line to point at when the entry's value is missing something. */
  keyPlace: Place;
  value: LocatedNode;
}

export interface LocatedMap extends Place {
  kind: 'map';
  entries: Map<string, LocatedEntry>;
  tag: string | undefined;
}

export type LocatedNode = LocatedScalar | LocatedSeq | LocatedMap;

export interface LocatedDocument {
  file: string;
  text: string;
  document: Document;
  lineCounter: LineCounter;
  root: LocatedNode | undefined;
}

export class YamlSyntaxError extends Error {
  override readonly name = 'YamlSyntaxError';
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

/**
 * Parses YAML text. `file` is the name used in places (a display path). A syntax error or a
 * duplicate key throws a YamlSyntaxError naming the line. Warnings are ignored: the only ones the
 * files here give are for Compose's own tags (`!reset`, `!override`), unknown to plain YAML.
 */
export function parseLocatedYaml(text: string, file: string): LocatedDocument {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  const [error] = document.errors;
  if (error !== undefined) {
    const line = error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line;
    throw new YamlSyntaxError(`${file}:${line}: ${firstLine(error.message)}`, file, line);
  }
  const converter = new LocatedConverter(document, lineCounter, file);
  const root = document.contents === null ? undefined : converter.convert(document.contents);
  return { file, text, document, lineCounter, root };
}

class LocatedConverter {
  private readonly document: Document;
  private readonly lineCounter: LineCounter;
  private readonly file: string;
  constructor(
    document: Document,
    lineCounter: LineCounter,
    file: string,
  ) {
    this.document = document;
    this.lineCounter = lineCounter;
    this.file = file;}

  convert(node: unknown, depth = 0): LocatedNode {
    if (depth > 64) throw new YamlSyntaxError(`${this.file}: nesting too deep (recursive alias?)`, this.file, null);
    if (isAlias(node)) {
      const target = node.resolve(this.document);
      if (target === undefined) {
        return { kind: 'scalar', value: null, tag: undefined, ...this.place(node) };
      }
      return this.convert(target, depth + 1);
    }
    if (isMap(node)) {
      const entries = new Map<string, LocatedEntry>();
      const merged: LocatedMap[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
          merged.push(...this.mergeSources(pair.value, depth));
          continue;
        }
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const keyPlace = this.place(keyNode);
        const value =
          pair.value === null || pair.value === undefined
            ? ({ kind: 'scalar', value: null, tag: undefined, ...keyPlace } as const)
            : this.convert(pair.value, depth + 1);
        entries.set(key, { key, keyPlace, value });
      }
      for (const source of merged) {
        for (const [key, entry] of source.entries) if (!entries.has(key)) entries.set(key, entry);
      }
      return { kind: 'map', entries, tag: node.tag, ...this.place(node) };
    }
    if (isSeq(node)) {
      return {
        kind: 'seq',
        items: node.items.map((item) => this.convert(item, depth + 1)),
        tag: node.tag,
        ...this.place(node),
      };
    }
    if (isScalar(node)) {
      const value = node.value;
      const plain =
        value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
          ? value
          : typeof value === 'bigint'
            ? value.toString()
            : null;
      return { kind: 'scalar', value: plain, tag: node.tag, ...this.place(node) };
    }
    return { kind: 'scalar', value: null, tag: undefined, file: this.file, line: 1 };
  }

  private mergeSources(value: unknown, depth: number): LocatedMap[] {
    const sources = isSeq(value) ? value.items : [value];
    const maps: LocatedMap[] = [];
    for (const source of sources) {
      const converted = this.convert(source, depth + 1);
      if (converted.kind === 'map') maps.push(converted);
    }
    return maps;
  }

  private place(node: unknown): Place {
    const range = (node as Node | undefined)?.range;
    const offset = range?.[0];
    return { file: this.file, line: offset === undefined ? 1 : this.lineCounter.linePos(offset).line };
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** The entry at `key` of a map node, if the node is a map and has it. */
export function entryOf(node: LocatedNode | undefined, key: string): LocatedEntry | undefined {
  return node?.kind === 'map' ? node.entries.get(key) : undefined;
}

/** The value at `key` of a map node. */
export function valueOf(node: LocatedNode | undefined, key: string): LocatedNode | undefined {
  return entryOf(node, key)?.value;
}

/** A scalar's value as text (numbers and booleans as YAML writes them); undefined for collections and null. */
export function scalarText(node: LocatedNode | undefined): string | undefined {
  if (node?.kind !== 'scalar' || node.value === null) return undefined;
  return String(node.value);
}
