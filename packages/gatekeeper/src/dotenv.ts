/**
 * dotenv text (`KEY=value` lines, `export KEY=value`, `#` comments, single- or double-quoted values,
 * which may span lines) as entries with the line of each variable. Problems are reported by line
 * and reason only: the text of a line is never repeated, since it may hold a secret.
 */
export interface EnvEntry {
  name: string;
  value: string;
  /** Where the value came from, as named in findings (a display path, or `input:values`). */
  origin: string;
  /** 1-based line of the variable's name. */
  line: number;
}

export interface DotenvProblem {
  origin: string;
  line: number;
  reason: string;
}

export interface ParsedDotenv {
  entries: EnvEntry[];
  problems: DotenvProblem[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function parseDotenv(text: string, origin: string): ParsedDotenv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries: EnvEntry[] = [];
  const problems: DotenvProblem[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const lineNumber = index + 1;
    const raw = lines[index] ?? '';
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const statement = trimmed.replace(/^export\s+/, '');
    const eq = statement.indexOf('=');
    if (eq < 0) {
      problems.push({ origin, line: lineNumber, reason: 'is not a KEY=value assignment' });
      continue;
    }
    const name = statement.slice(0, eq).trim();
    if (!NAME.test(name)) {
      problems.push({ origin, line: lineNumber, reason: 'does not start with a valid variable name (letters, digits, _)' });
      continue;
    }
    const rest = statement.slice(eq + 1).replace(/^[ \t]+/, '');
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      const quoted = readQuoted(rest.slice(1), quote, lines, index);
      if (quoted === undefined) {
        problems.push({ origin, line: lineNumber, reason: `opens a ${quote === '"' ? 'double' : 'single'} quote that is never closed` });
        break;
      }
      entries.push({ name, value: quoted.value, origin, line: lineNumber });
      index = quoted.lastLine;
      continue;
    }
    const unquoted = stripInlineComment(rest);
    if (rest[unquoted.length] === '\t') {
      // Compose v1 (python-dotenv) ends the value at whitespace before `#`, Compose v2 only at a space.
      problems.push({ origin, line: lineNumber, reason: 'has a tab before its # comment, which Compose v2 would read as part of the value (write a space before #)' });
      continue;
    }
    entries.push({ name, value: unquoted.trim(), origin, line: lineNumber });
  }
  return { entries, problems };
}

function readQuoted(
  first: string,
  quote: '"' | "'",
  lines: readonly string[],
  startLine: number,
): { value: string; lastLine: number } | undefined {
  let text = first;
  let lineIndex = startLine;
  for (;;) {
    const close = closingQuote(text, quote);
    if (close >= 0) {
      const body = text.slice(0, close);
      return { value: quote === '"' ? unescapeDouble(body) : body, lastLine: lineIndex };
    }
    lineIndex += 1;
    if (lineIndex >= lines.length) return undefined;
    text += `\n${lines[lineIndex] ?? ''}`;
  }
}

function closingQuote(text: string, quote: '"' | "'"): number {
  for (let i = 0; i < text.length; i += 1) {
    if (quote === '"' && text[i] === '\\') {
      i += 1;
      continue;
    }
    if (text[i] === quote) return i;
  }
  return -1;
}

function unescapeDouble(body: string): string {
  return body.replace(/\\([nrt"\\$])/g, (_, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      default:
        return c;
    }
  });
}

/**
 * `value # comment` loses its comment; a `#` inside a value (`a#b`) stays. As Compose v1 does, any
 * whitespace before `#` starts the comment (Compose v2 only a space: a tab there is a problem above).
 */
function stripInlineComment(value: string): string {
  const match = value.match(/[ \t]#/);
  return match?.index === undefined ? value : value.slice(0, match.index);
}
