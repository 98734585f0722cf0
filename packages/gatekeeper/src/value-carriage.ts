/**
 * Whether the stack can carry a production value exactly as the gate read it. The values reach the
 * stack through Compose's `--env-file` (Compose v1 reads it with python-dotenv, v2 with compose-go's
 * dotenv) and then the services' own configuration (NATS quotes every password it is given, Redis
 * and Postgres take theirs quoted or from a file). Those readers agree with the gate on plain text,
 * single or double quotes around it, `#` inside a value and spaces; they disagree, or change the
 * value, on:
 *   - `$`: both Compose versions expand `$NAME` and `${NAME}` inside the file, v2 also in double
 *     quotes, and treat `$$` differently;
 *   - quote characters inside a value (`"`, `'`, backquote): where a quoted value ends, and whether
 *     `\'` or `\"` is an escape, differs between them;
 *   - a backslash: v1 decodes escapes in single quotes too, v2 only in double quotes;
 *   - a line break, a tab or another control character: a multi-line value is read differently by
 *     each, and no service here takes a password over two lines.
 * A value holding one of these is refused: the finding names the variable and the kind of
 * character, never the value.
 */
export interface CarriageProblem {
  what: string;
  fix: string;
}

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/u;

export function carriageProblem(name: string, value: string): CarriageProblem | undefined {
  const fix = `Generate a new ${name} without $, quotes, backslashes or control characters (letters, digits and other punctuation are fine), e.g. \`openssl rand -hex 24\``;
  const control = CONTROL.exec(value)?.[0];
  if (control !== undefined) {
    const kind = control === '\n' || control === '\r' ? 'a line break' : control === '\t' ? 'a tab' : 'a control character';
    return { what: `holds ${kind}, which the stack cannot carry (Compose reads multi-line and control characters differently in v1 and v2, and no service takes them)`, fix };
  }
  if (value.includes('$')) {
    return { what: 'holds a "$", which Compose expands as a variable reference when it reads the env file (v1 and v2 differently)', fix };
  }
  if (/["'`]/.test(value)) {
    return { what: 'holds a quote character, which Compose v1 and v2 read differently inside an env file value', fix };
  }
  if (value.includes('\\')) {
    return { what: 'holds a backslash, which Compose v1 reads as an escape where v2 does not', fix };
  }
  return undefined;
}
