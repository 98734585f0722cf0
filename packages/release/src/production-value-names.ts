import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { ProductionValueNames } from './services-file.js';

/**
 * `values` of services.yml: the production values a deploy of the release needs. `required`: every
 * variable the host's env file must set to a real production value (gatekeeper's and provision's
 * default set, which their `required` input changes); `distinct`: required variables whose values
 * must each differ from every other required one (one password per user: a shared one lets one
 * compromised service act as another). Names are environment variable names, each listed once.
 */
export const VARIABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const KEYS = ['required', 'distinct'];

export function valueNamesOf(node: Node, problem: (at: Node, message: string) => void): ProductionValueNames {
  if (!isMap(node)) {
    problem(node, `values: expected a mapping with ${KEYS.join(', ')}`);
    return { required: [], distinct: [] };
  }
  const lists = new Map<string, Node>();
  for (const pair of node.items) {
    const key = pair.key as Node | null;
    const name = isScalar(key) ? String(key.value) : '?';
    if (!KEYS.includes(name)) problem(key ?? node, `values: unknown key "${name}" (known keys: ${KEYS.join(', ')})`);
    else lists.set(name, (pair.value as Node | null) ?? (key as Node));
  }
  const names = (key: string): string[] => {
    const list = lists.get(key);
    if (list === undefined) return [];
    if (!isSeq(list)) {
      problem(list, `values.${key}: expected a list of variable names`);
      return [];
    }
    const found: string[] = [];
    list.items.forEach((item, i) => {
      const at = item as Node;
      const name = isScalar(at) && typeof at.value === 'string' ? at.value : undefined;
      if (name === undefined || !VARIABLE_NAME_PATTERN.test(name)) problem(at, `values.${key}[${i}]: ${JSON.stringify(name ?? null)} is not a variable name (letters, digits and _)`);
      else if (found.includes(name)) problem(at, `values.${key}[${i}]: ${name} is listed twice`);
      else found.push(name);
    });
    return found;
  };
  const required = names('required');
  const distinct = names('distinct');
  for (const name of distinct.filter((n) => !required.includes(n))) {
    problem(lists.get('distinct') ?? node, `values.distinct: ${name} is not in values.required; only required values are compared`);
  }
  return { required, distinct };
}
