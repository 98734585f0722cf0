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
import { checkStackProfile, formatAt, type StackProfile } from './stack-profile.js';

export const STACK_FILE = 'stack.yml';

/** One problem of stack.yml, at its line. */
export interface StackFileProblem {
  readonly line: number;
  /** `health[1].port: must be a port number, 1 to 65535`. */
  readonly message: string;
}

/** Reads and checks `<dir>/stack.yml` against the release's compose services (when given). */
export async function readStackProfile(dir: string, services?: readonly string[]): Promise<StackProfile> {
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
  return parseStackProfile(text, services);
}

/** Parses stack.yml's text; a ReleaseSourceError lists every problem as `stack.yml:LINE: ...`. */
export function parseStackProfile(text: string, services?: readonly string[]): StackProfile {
  const checked = checkedText(text, services);
  if (!Array.isArray(checked)) return checked;
  const syntax = checked.some((p) => p.syntax);
  const lines = checked.map((p) => `${STACK_FILE}:${p.line}: ${p.message}`);
  throw new ReleaseSourceError(STACK_FILE, syntax ? `is not valid YAML:\n${lines.join('\n')}` : `has ${checked.length} problem(s):\n${lines.join('\n')}`);
}

/** Every problem of stack.yml's text, each at its line (none: the profile is sound). */
export function stackProfileProblems(text: string, services?: readonly string[]): StackFileProblem[] {
  const checked = checkedText(text, services);
  return Array.isArray(checked) ? checked.map(({ line, message }) => ({ line, message })) : [];
}

function checkedText(text: string, services: readonly string[] | undefined): StackProfile | (StackFileProblem & { syntax: boolean })[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({ line: lineCounter.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? '', syntax: true }));
  }
  const checked = checkStackProfile(doc.toJS(), services);
  if (!Array.isArray(checked)) return checked;
  return checked.map((p) => ({ line: lineOf(doc, lineCounter, p.at), message: `${formatAt(p.at) || 'the file'}: ${p.problem}`, syntax: false }));
}

/** The line of the node at `at`, or of its nearest parent that exists. */
function lineOf(doc: Document, lineCounter: LineCounter, at: readonly (string | number)[]): number {
  for (let n = at.length; n >= 0; n -= 1) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(at.slice(0, n), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
