/**
 * Compose variable interpolation (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` for a literal `$`): finding the
 * references in a file's text, and resolving a value with what is known.
 */
export type InterpolationOperator = '' | ':-' | '-' | ':?' | '?' | ':+' | '+';

export interface VariableReference {
  name: string;
  operator: InterpolationOperator;
  /** `${...}` (true) or bare `$VAR` (false). */
  braced: boolean;
  /** The text after the operator (a default, an error message or an alternative), unresolved. */
  argument: string;
  /** Offset of the `$` in the text scanned. */
  offset: number;
  /** Offset just past the reference. */
  end: number;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const OPERATORS: readonly InterpolationOperator[] = [':-', ':?', ':+', '-', '?', '+'];

/** Every reference in `text`, in order; nested references inside an argument are listed too. */
export function findVariableReferences(text: string): VariableReference[] {
  const found: VariableReference[] = [];
  scan(text, 0, text.length, found);
  return found.sort((a, b) => a.offset - b.offset);
}

function scan(text: string, from: number, to: number, found: VariableReference[]): void {
  let i = from;
  while (i < to) {
    if (text[i] !== '$') {
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      i += 2;
      continue;
    }
    if (next === '{') {
      const reference = parseBraced(text, i, to);
      if (reference === undefined) {
        i += 2;
        continue;
      }
      found.push(reference);
      const argumentStart = reference.end - 1 - reference.argument.length;
      scan(text, argumentStart, reference.end - 1, found);
      i = reference.end;
      continue;
    }
    if (next !== undefined && NAME_START.test(next)) {
      let end = i + 1;
      while (end < to && NAME_CHAR.test(text[end] ?? '')) end += 1;
      found.push({ name: text.slice(i + 1, end), operator: '', braced: false, argument: '', offset: i, end });
      i = end;
      continue;
    }
    i += 1;
  }
}

function parseBraced(text: string, start: number, to: number): VariableReference | undefined {
  let i = start + 2;
  if (!NAME_START.test(text[i] ?? '')) return undefined;
  while (i < to && NAME_CHAR.test(text[i] ?? '')) i += 1;
  const name = text.slice(start + 2, i);
  let operator: InterpolationOperator = '';
  for (const candidate of OPERATORS) {
    if (text.startsWith(candidate, i)) {
      operator = candidate;
      break;
    }
  }
  if (operator === '' && text[i] !== '}') return undefined;
  const argumentStart = i + operator.length;
  let depth = 1;
  let j = argumentStart;
  while (j < to) {
    const c = text[j];
    if (c === '$' && text[j + 1] === '$') {
      j += 2;
      continue;
    }
    if (c === '$' && text[j + 1] === '{') {
      depth += 1;
      j += 2;
      continue;
    }
    if (c === '}') {
      depth -= 1;
      if (depth === 0) break;
    }
    j += 1;
  }
  if (depth !== 0) return undefined;
  return { name, operator, braced: true, argument: text.slice(argumentStart, j), offset: start, end: j + 1 };
}

/** Whether a reference stops Compose when the variable is unset or empty: `${VAR:?message}`. */
export function isFailFast(reference: VariableReference): boolean {
  return reference.operator === ':?';
}

export interface Interpolated {
  text: string;
  /** Variables that had neither a known value nor a default: their text is left as written. */
  unresolved: string[];
}

/**
 * Resolves a value as Compose would, with the variables known (`values`) and the defaults written in
 * the file. A variable that is unknown and has no default stays as written and is listed.
 */
export function interpolate(text: string, values: ReadonlyMap<string, string> = new Map()): Interpolated {
  const unresolved: string[] = [];
  const out = resolveRange(text, values, unresolved);
  return { text: out, unresolved };
}

function resolveRange(text: string, values: ReadonlyMap<string, string>, unresolved: string[]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i += 1;
      continue;
    }
    if (text[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    const reference = referenceAt(text, i);
    if (reference === undefined) {
      out += c;
      i += 1;
      continue;
    }
    out += resolveReference(text, reference, values, unresolved);
    i = reference.end;
  }
  return out;
}

function referenceAt(text: string, offset: number): VariableReference | undefined {
  if (text[offset + 1] === '{') return parseBraced(text, offset, text.length);
  const next = text[offset + 1];
  if (next === undefined || !NAME_START.test(next)) return undefined;
  let end = offset + 1;
  while (end < text.length && NAME_CHAR.test(text[end] ?? '')) end += 1;
  return { name: text.slice(offset + 1, end), operator: '', braced: false, argument: '', offset, end };
}

function resolveReference(
  text: string,
  reference: VariableReference,
  values: ReadonlyMap<string, string>,
  unresolved: string[],
): string {
  const value = values.get(reference.name);
  const argument = () => resolveRange(reference.argument, values, unresolved);
  switch (reference.operator) {
    case ':-':
      return value === undefined || value === '' ? argument() : value;
    case '-':
      return value === undefined ? argument() : value;
    case ':+':
      return value === undefined || value === '' ? '' : argument();
    case '+':
      return value === undefined ? '' : argument();
    default:
      if (value !== undefined) return value;
      unresolved.push(reference.name);
      return text.slice(reference.offset, reference.end);
  }
}
