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
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `${STACK_FILE}:${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0] ?? ''}`);
    throw new ReleaseSourceError(STACK_FILE, `is not valid YAML:\n${lines.join('\n')}`);
  }
  const checked = checkStackProfile(doc.toJS(), services);
  if (!Array.isArray(checked)) return checked;
  const lines = checked.map((p) => `${STACK_FILE}:${lineOf(doc, lineCounter, p.at)}: ${formatAt(p.at) || 'the file'}: ${p.problem}`);
  throw new ReleaseSourceError(STACK_FILE, `has ${checked.length} problem(s):\n${lines.join('\n')}`);
}

/** The line of the node at `at`, or of its nearest parent that exists. */
function lineOf(doc: Document, lineCounter: LineCounter, at: readonly (string | number)[]): number {
  for (let n = at.length; n >= 0; n -= 1) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(at.slice(0, n), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
