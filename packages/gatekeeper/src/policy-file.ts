import { readFile } from 'node:fs/promises';
import type { Finding } from './finding.js';
import { parseLocatedYaml, YamlSyntaxError, type LocatedMap, type LocatedNode } from './located-yaml.js';

/**
 * The risk policy every Titan service loads (its sha256 is the release's policy hash): present,
 * strict JSON, and holding the limits the stack reads, each of the right type. The stack starts
 * DISARMED: a policy whose defaultMode is anything else is refused.
 */
type PolicyType = 'schema-version' | 'text' | 'disarmed' | 'positive-number' | 'percent' | 'positive-integer' | 'boolean' | 'text-list';

interface PolicyRule {
  path: readonly string[];
  type: PolicyType;
}

/** The keys the stack needs, from examples/titan/config/policy.json (schemaVersion 1). */
export const POLICY_SCHEMA: readonly PolicyRule[] = [
  { path: ['schemaVersion'], type: 'schema-version' },
  { path: ['name'], type: 'text' },
  { path: ['defaultMode'], type: 'disarmed' },
  { path: ['account', 'maxGrossLeverage'], type: 'positive-number' },
  { path: ['account', 'maxNetExposureUsd'], type: 'positive-number' },
  { path: ['account', 'maxDailyLossUsd'], type: 'positive-number' },
  { path: ['account', 'maxDrawdownPct'], type: 'percent' },
  { path: ['account', 'killSwitchOnDailyLoss'], type: 'boolean' },
  { path: ['orders', 'maxOrderNotionalUsd'], type: 'positive-number' },
  { path: ['orders', 'maxOrdersPerMinute'], type: 'positive-integer' },
  { path: ['orders', 'allowedOrderTypes'], type: 'text-list' },
  { path: ['symbols', 'allowed'], type: 'text-list' },
  { path: ['circuitBreakers', 'maxConsecutiveLosses'], type: 'positive-integer' },
  { path: ['circuitBreakers', 'staleMarketDataSeconds'], type: 'positive-number' },
];

export const POLICY_SCHEMA_VERSION = 1;

const CHECK = 'policy';

export async function checkPolicyFile(path: string, file: string): Promise<Finding[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return [finding(file, null, `The policy file cannot be read (${code})`, 'Add the policy file (release.policy in services.yml names it): the stack refuses to start without it')];
  }
  return checkPolicyText(text, file);
}

export function checkPolicyText(text: string, file: string): Finding[] {
  try {
    JSON.parse(text);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    return [finding(file, jsonErrorLine(text, message), `The policy file is not valid JSON (${message})`, 'Fix the JSON syntax; check it with `jq . <file>`')];
  }
  let root: LocatedNode | undefined;
  try {
    root = parseLocatedYaml(text, file).root;
  } catch (error: unknown) {
    const line = error instanceof YamlSyntaxError ? error.line : null;
    return [finding(file, line, `The policy file is ambiguous: ${error instanceof Error ? error.message : String(error)}`, 'Give every key once')];
  }
  if (root?.kind !== 'map') {
    return [finding(file, root?.line ?? 1, 'The policy file must be a JSON object', 'Write the policy as an object with schemaVersion, defaultMode, account, orders, symbols and circuitBreakers')];
  }
  return POLICY_SCHEMA.flatMap((rule) => ruleFindings(root, rule, file));
}

function ruleFindings(root: LocatedMap, rule: PolicyRule, file: string): Finding[] {
  let parent: LocatedMap = root;
  let parentLine = 1;
  const key = rule.path.join('.');
  for (const [index, segment] of rule.path.entries()) {
    const entry = parent.entries.get(segment);
    if (entry === undefined) {
      return [finding(file, parentLine, `The policy has no ${key}`, `Add ${key} (${describe(rule.type)})`)];
    }
    if (index === rule.path.length - 1) {
      const problem = typeProblem(rule.type, entry.value);
      return problem === undefined ? [] : [finding(file, entry.value.line, `The policy's ${key} ${problem}`, `Set ${key} to ${describe(rule.type)}`)];
    }
    if (entry.value.kind !== 'map') {
      return [finding(file, entry.value.line, `The policy's ${rule.path.slice(0, index + 1).join('.')} must be an object`, `Make it an object holding ${rule.path[index + 1] ?? ''}`)];
    }
    parent = entry.value;
    parentLine = entry.keyPlace.line;
  }
  return [];
}

function typeProblem(type: PolicyType, node: LocatedNode): string | undefined {
  const value = node.kind === 'scalar' ? node.value : undefined;
  switch (type) {
    case 'schema-version':
      return value === POLICY_SCHEMA_VERSION ? undefined : `is ${JSON.stringify(value ?? null)}; this gate knows schemaVersion ${POLICY_SCHEMA_VERSION}`;
    case 'text':
      return typeof value === 'string' && value !== '' ? undefined : 'must be a non-empty string';
    case 'disarmed':
      return value === 'DISARMED' ? undefined : 'must be "DISARMED": the stack is deployed disarmed and only an explicit, armed deploy arms it';
    case 'positive-number':
      return typeof value === 'number' && value > 0 && Number.isFinite(value) ? undefined : 'must be a number above 0';
    case 'percent':
      return typeof value === 'number' && value > 0 && value <= 100 ? undefined : 'must be a percentage above 0 and at most 100';
    case 'positive-integer':
      return typeof value === 'number' && Number.isInteger(value) && value > 0 ? undefined : 'must be a whole number above 0';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'text-list':
      return node.kind === 'seq' && node.items.length > 0 && node.items.every((i) => i.kind === 'scalar' && typeof i.value === 'string' && i.value !== '')
        ? undefined
        : 'must be a non-empty list of strings';
  }
}

function describe(type: PolicyType): string {
  switch (type) {
    case 'schema-version':
      return String(POLICY_SCHEMA_VERSION);
    case 'text':
      return 'a string';
    case 'disarmed':
      return '"DISARMED"';
    case 'positive-number':
      return 'a number above 0';
    case 'percent':
      return 'a percentage (0-100]';
    case 'positive-integer':
      return 'a whole number above 0';
    case 'boolean':
      return 'true or false';
    case 'text-list':
      return 'a list of strings';
  }
}

/** The line of a JSON.parse error: Node reports `(line L column C)` or `at position N`. */
function jsonErrorLine(text: string, message: string): number | null {
  const line = message.match(/line (\d+)/);
  if (line !== null) return Number(line[1]);
  const position = message.match(/position (\d+)/);
  if (position !== null) return text.slice(0, Number(position[1])).split('\n').length;
  return text.trim() === '' ? 1 : null;
}

function finding(file: string, line: number | null, message: string, fix: string): Finding {
  return { check: CHECK, severity: 'error', file, line, message, fix };
}
