import type { ComposeFile } from './compose-file.js';
import { parsePortEntry, portMergeKey } from './compose-ports.js';
import type { LocatedEntry, LocatedMap, LocatedNode, LocatedScalar, LocatedSeq, Place } from './located-yaml.js';

/**
 * The services of several Compose files merged the way `docker compose -f a.yml -f b.yml` merges
 * them (rules shared by Compose v1.29 and the Compose specification used by v2), every value keeping
 * the file and line it came from:
 *
 * - mappings merge key by key, the later file winning for scalars (`image`, `restart`, `user`...);
 * - `environment`, `labels`, `extra_hosts`, `sysctls`, `ulimits`, `depends_on`, `networks`: a list
 *   or a mapping, normalised to a mapping, merged by key;
 * - `ports`: appended, an entry with the same {host ip, published, target, protocol} replaced;
 * - `volumes`, `devices`: appended, an entry with the same container path replaced;
 * - `secrets`, `configs`: appended, an entry with the same source replaced;
 * - `command`, `entrypoint`, `healthcheck.test`: replaced by the later file, never appended;
 * - `healthcheck`: merged key by key; a later `disable: true` replaces it whole;
 * - `logging`: `driver` replaced; `options` merged when the driver is unchanged (or unset in the
 *   earlier file), replaced by the later file's otherwise;
 * - `dns`, `dns_search`, `env_file`, `tmpfs` (a string or a list), `expose`, `cap_add`, `cap_drop`
 *   and every other sequence: appended, duplicates dropped;
 * - `!reset` removes the value, `!override` replaces it without merging (Compose v2.24+).
 */
export interface MergedService {
  name: string;
  /** Where each file defines the service (its key), in file order. */
  definitions: Place[];
  config: LocatedMap;
}

export interface MergedCompose {
  files: string[];
  services: Map<string, MergedService>;
}

const KEYED_MAPPINGS = new Set(['environment', 'labels', 'extra_hosts', 'sysctls', 'ulimits', 'depends_on', 'networks']);
const REPLACED = new Set(['command', 'entrypoint']);
const STRING_OR_LIST = new Set(['dns', 'dns_search', 'env_file', 'tmpfs']);

export function mergeComposeFiles(files: readonly ComposeFile[], values: ReadonlyMap<string, string> = new Map()): MergedCompose {
  const services = new Map<string, MergedService>();
  for (const file of files) {
    for (const [name, entry] of file.services?.entries ?? []) {
      const config = asServiceMap(entry);
      const existing = services.get(name);
      if (existing === undefined || entry.value.tag === '!override') {
        services.set(name, { name, definitions: [...(existing?.definitions ?? []), entry.keyPlace], config });
        continue;
      }
      if (entry.value.tag === '!reset') {
        services.delete(name);
        continue;
      }
      existing.definitions.push(entry.keyPlace);
      existing.config = mergeService(existing.config, config, values);
    }
  }
  return { files: files.map((f) => f.file), services };
}

function asServiceMap(entry: LocatedEntry): LocatedMap {
  if (entry.value.kind === 'map') return entry.value;
  return { kind: 'map', entries: new Map(), tag: entry.value.tag, file: entry.keyPlace.file, line: entry.keyPlace.line };
}

function mergeService(base: LocatedMap, override: LocatedMap, values: ReadonlyMap<string, string>): LocatedMap {
  return mergeMaps(base, override, (key, previous, next) =>
    next.tag === '!override' || REPLACED.has(key) ? next : mergeServiceField(key, previous, next, values),
  );
}

function mergeServiceField(key: string, base: LocatedNode, override: LocatedNode, values: ReadonlyMap<string, string>): LocatedNode {
  if (KEYED_MAPPINGS.has(key)) return mergeMaps(asKeyedMap(base), asKeyedMap(override), () => undefined);
  if (STRING_OR_LIST.has(key)) return appendUnique(asList(base), asList(override), scalarKey);
  switch (key) {
    case 'ports':
      return appendUnique(asList(base), asList(override), (node) => portMergeKey(parsePortEntry(node, values)));
    case 'volumes':
    case 'devices':
      return appendUnique(asList(base), asList(override), (node) => mountTarget(node));
    case 'secrets':
    case 'configs':
      return appendUnique(asList(base), asList(override), (node) => referenceSource(node));
    case 'healthcheck':
      return mergeHealthcheck(base, override);
    case 'logging':
      return mergeLogging(base, override);
    case 'build':
      return mergeMaps(asBuildMap(base), asBuildMap(override), () => undefined);
    default:
      return mergeGeneric(base, override);
  }
}

function mergeGeneric(base: LocatedNode, override: LocatedNode): LocatedNode {
  if (override.tag === '!override') return override;
  if (base.kind === 'map' && override.kind === 'map') return mergeMaps(base, override, () => undefined);
  if (base.kind === 'seq' && override.kind === 'seq') return appendUnique(base, override, scalarKey);
  return override;
}

function mergeMaps(
  base: LocatedMap,
  override: LocatedMap,
  special: (key: string, base: LocatedNode, override: LocatedNode) => LocatedNode | undefined,
): LocatedMap {
  const entries = new Map(base.entries);
  for (const [key, entry] of override.entries) {
    const previous = entries.get(key);
    if (entry.value.tag === '!reset') {
      entries.delete(key);
      continue;
    }
    if (previous === undefined) {
      entries.set(key, entry);
      continue;
    }
    const merged = special(key, previous.value, entry.value) ?? mergeGeneric(previous.value, entry.value);
    entries.set(key, { ...entry, value: merged });
  }
  return { ...override, entries };
}

function mergeHealthcheck(base: LocatedNode, override: LocatedNode): LocatedNode {
  if (base.kind !== 'map' || override.kind !== 'map' || override.tag === '!override') return override;
  const disable = override.entries.get('disable')?.value;
  if (disable?.kind === 'scalar' && disable.value === true) return override;
  return mergeMaps(base, override, (key, _base, over) => (key === 'test' ? over : undefined));
}

function mergeLogging(base: LocatedNode, override: LocatedNode): LocatedNode {
  if (base.kind !== 'map' || override.kind !== 'map' || override.tag === '!override') return override;
  const baseDriver = scalarKey(base.entries.get('driver')?.value);
  const overrideDriver = override.entries.get('driver');
  const sameDriver = overrideDriver === undefined || baseDriver === '' || scalarKey(overrideDriver.value) === baseDriver;
  if (sameDriver) return mergeMaps(base, override, () => undefined);
  const entries = new Map<string, LocatedEntry>();
  for (const [key, entry] of override.entries) entries.set(key, entry);
  return { ...override, entries };
}

/** `KEY=value` list items (or bare `KEY`) as a mapping, each entry keeping its item's line. */
function asKeyedMap(node: LocatedNode): LocatedMap {
  if (node.kind === 'map') return node;
  const entries = new Map<string, LocatedEntry>();
  if (node.kind === 'seq') {
    for (const item of node.items) {
      if (item.kind !== 'scalar' || item.value === null) continue;
      const text = String(item.value);
      const eq = text.indexOf('=');
      const key = eq < 0 ? text : text.slice(0, eq);
      const value: LocatedScalar = { kind: 'scalar', value: eq < 0 ? null : text.slice(eq + 1), tag: undefined, file: item.file, line: item.line };
      entries.set(key, { key, keyPlace: { file: item.file, line: item.line }, value });
    }
  }
  return { kind: 'map', entries, tag: node.tag, file: node.file, line: node.line };
}

function asBuildMap(node: LocatedNode): LocatedMap {
  if (node.kind === 'map') return node;
  const entries = new Map<string, LocatedEntry>();
  entries.set('context', { key: 'context', keyPlace: { file: node.file, line: node.line }, value: node });
  return { kind: 'map', entries, tag: node.tag, file: node.file, line: node.line };
}

function asList(node: LocatedNode): LocatedSeq {
  if (node.kind === 'seq') return node;
  const items = node.kind === 'scalar' && node.value === null ? [] : [node];
  return { kind: 'seq', items, tag: node.tag, file: node.file, line: node.line };
}

function appendUnique(base: LocatedSeq, override: LocatedSeq, keyOf: (node: LocatedNode) => string): LocatedSeq {
  if (override.tag === '!override') return override;
  const byKey = new Map<string, LocatedNode>();
  for (const item of [...base.items, ...override.items]) {
    const key = keyOf(item);
    byKey.delete(key);
    byKey.set(key, item);
  }
  return { ...override, items: [...byKey.values()] };
}

function scalarKey(node: LocatedNode | undefined): string {
  if (node === undefined) return '';
  if (node.kind === 'scalar') return String(node.value);
  return JSON.stringify(plainValue(node));
}

function mountTarget(node: LocatedNode): string {
  if (node.kind === 'map') return `target:${scalarKey(node.entries.get('target')?.value)}`;
  const text = scalarKey(node);
  const parts = text.split(':');
  return `target:${parts.length >= 2 ? parts[1] : parts[0]}`;
}

function referenceSource(node: LocatedNode): string {
  if (node.kind === 'map') return `source:${scalarKey(node.entries.get('source')?.value)}`;
  return `source:${scalarKey(node)}`;
}

/** A located node as plain data (for comparisons and messages). */
export function plainValue(node: LocatedNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(plainValue);
    case 'map':
      return Object.fromEntries([...node.entries].map(([k, e]) => [k, plainValue(e.value)]));
  }
}
