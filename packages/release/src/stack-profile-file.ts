/**
 * stack.yml, beside services.yml in the release source: the stack profile as its operators write it
 * (see stack-profile.ts for what each member means, examples/titan/stack.yml for one). Reading it
 * reports every problem at once, each with the file and line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { errorCode } from './error-code.js';
import { ReleaseSourceError } from './release-source-error.js';
import { fillHealthPorts, type ServicePorts } from './service-ports.js';
import { checkStackProfile, formatAt, type StackProfile, type StackProfileProblem } from './stack-profile.js';

export const STACK_FILE = 'stack.yml';

/** One problem of stack.yml, at its line. */
export interface StackFileProblem {
  readonly line: number;
  /** `health[1].port: must be a port number, 1 to 65535`. */
  readonly message: string;
}

/**
 * The compose model stack.yml is checked against: the release's services, and their ports (a health
 * endpoint's port comes from its service's PORT: service-ports.ts).
 */
export interface StackCompose {
  readonly services: readonly string[];
  readonly ports: ReadonlyMap<string, ServicePorts>;
}

/** Reads and checks `<dir>/stack.yml` against the release's compose model (when given). */
export async function readStackProfile(dir: string, compose?: StackCompose): Promise<StackProfile> {
  let text: string;
  try {
    text = await readFile(join(dir, STACK_FILE), 'utf8');
  } catch (error: unknown) {
    const code = errorCode(error);
    throw new ReleaseSourceError(
      STACK_FILE,
      code === 'ENOENT'
        ? 'is missing: the release source must describe its stack (service groups in stop order, infrastructure, health endpoints, policy reporters, database, halt); see examples/titan/stack.yml'
        : `cannot be read (${code})`,
      { cause: error },
    );
  }
  return parseStackProfile(text, compose);
}

/** Parses stack.yml's text; a ReleaseSourceError lists every problem as `stack.yml:LINE: ...`. */
export function parseStackProfile(text: string, compose?: StackCompose): StackProfile {
  const checked = checkedText(text, compose, true);
  if (!Array.isArray(checked)) return checked;
  const syntax = checked.some((p) => p.syntax);
  const lines = checked.map((p) => `${STACK_FILE}:${p.line}: ${p.message}`);
  throw new ReleaseSourceError(STACK_FILE, syntax ? `is not valid YAML:\n${lines.join('\n')}` : `has ${checked.length} problem(s):\n${lines.join('\n')}`);
}

/**
 * Every problem of stack.yml's text, each at its line (none: the profile is sound). Without the
 * compose model, a health entry that leaves its port out is not a problem here.
 */
export function stackProfileProblems(text: string, compose?: StackCompose): StackFileProblem[] {
  const checked = checkedText(text, compose, false);
  return Array.isArray(checked) ? checked.map(({ line, message }) => ({ line, message })) : [];
}

function checkedText(text: string, compose: StackCompose | undefined, reportUnfilled: boolean): StackProfile | (StackFileProblem & { syntax: boolean })[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({ line: lineCounter.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? '', syntax: true }));
  }
  const value: unknown = doc.toJS();
  const portProblems = compose === undefined ? [] : fillHealthPorts(value, compose.ports);
  // A health port stack.yml leaves out comes from the compose files: when they could not give it,
  // that is said once (fillHealthPorts), or, without them, here, or not at all (the gatekeeper's
  // compose check says why they could not be read).
  const unfilled = new Set(portlessHealth(value));
  const unresolved: StackProfileProblem[] =
    compose !== undefined || !reportUnfilled ? [] : [...unfilled].map((i) => ({ at: ['health', i], problem: 'has no port, and without the compose files it cannot be taken from its service\'s PORT' }));
  const profile = checkStackProfile(value, compose?.services);
  if (!Array.isArray(profile) && portProblems.length === 0) return profile;
  const checked = [...portProblems, ...unresolved, ...(Array.isArray(profile) ? profile : []).flatMap((p) => withoutMissingPort(p, unfilled))];
  return checked.map((p) => ({ line: lineOf(doc, lineCounter, p.at), message: `${formatAt(p.at) || 'the file'}: ${p.problem}`, syntax: false }));
}

/** The indexes of the health entries that still have no port. */
function portlessHealth(value: unknown): number[] {
  const health = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)['health'] : undefined;
  if (!Array.isArray(health)) return [];
  return health.flatMap((entry: unknown, i) => (entry !== null && typeof entry === 'object' && !Array.isArray(entry) && (entry as Record<string, unknown>)['port'] === undefined ? [i] : []));
}

/** `problem`, less what it says of the missing port of an entry of `unfilled` (said otherwise). */
function withoutMissingPort(problem: StackProfileProblem, unfilled: ReadonlySet<number>): StackProfileProblem[] {
  const { at } = problem;
  if (at[0] !== 'health' || typeof at[1] !== 'number' || !unfilled.has(at[1])) return [problem];
  if (at[2] === 'port') return [];
  const missing = /^missing (.*)$/.exec(problem.problem);
  if (at.length !== 2 || missing?.[1] === undefined) return [problem];
  const rest = missing[1].split(', ').filter((m) => m !== 'port');
  return rest.length === 0 ? [] : [{ at, problem: `missing ${rest.join(', ')}` }];
}

/** The line of the node at `at`, or of its nearest parent that exists. */
function lineOf(doc: Document, lineCounter: LineCounter, at: readonly (string | number)[]): number {
  for (let n = at.length; n >= 0; n -= 1) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(at.slice(0, n), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
