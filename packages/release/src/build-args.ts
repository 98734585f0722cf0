import { isMap, isScalar, isSeq, type Node } from 'yaml';

/**
 * The build args of an image in services.yml: a mapping `NAME: value` or a list of `NAME=value`,
 * each name a shell-style identifier, each value one line, each name once. Numbers and booleans are
 * kept as written (`1.10` stays "1.10"). Sorted by name, which is how build keys hash them.
 */
export const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface BuildArgProblem {
  readonly node: Node;
  readonly message: string;
}

export function buildArgsOf(node: Node, where: string): { args: (readonly [string, string])[]; problems: BuildArgProblem[] } {
  const args = new Map<string, string>();
  const problems: BuildArgProblem[] = [];
  const add = (name: string, value: string, at: Node): void => {
    if (!BUILD_ARG_NAME.test(name)) problems.push({ node: at, message: `${where}: "${name}" is not a valid build arg name (${BUILD_ARG_NAME.source})` });
    else if (/[\r\n]/.test(value)) problems.push({ node: at, message: `${where}.${name}: the value spans lines; build args are one line each` });
    else if (args.has(name)) problems.push({ node: at, message: `${where}: ${name} is given twice` });
    else args.set(name, value);
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      if (!isScalar(key) || typeof key.value !== 'string') {
        problems.push({ node: key ?? node, message: `${where}: every key must be a build arg name` });
        continue;
      }
      const scalar = isScalar(value) ? value.value : undefined;
      if (value === null || !(typeof scalar === 'string' || typeof scalar === 'number' || typeof scalar === 'boolean')) {
        problems.push({ node: value ?? key, message: `${where}.${key.value}: expected a string, number or boolean value` });
        continue;
      }
      add(key.value, typeof scalar === 'string' ? scalar : ((value as { source?: string }).source ?? String(scalar)), value);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const entry = isScalar(item) && typeof item.value === 'string' ? item.value : undefined;
      const eq = entry?.indexOf('=') ?? -1;
      if (entry === undefined || eq <= 0) {
        problems.push({ node: (item as Node | null) ?? node, message: `${where}: expected NAME=value entries` });
        continue;
      }
      add(entry.slice(0, eq), entry.slice(eq + 1), item as Node);
    }
  } else {
    problems.push({ node, message: `${where}: expected a mapping of NAME: value` });
  }
  return { args: [...args.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), problems };
}
