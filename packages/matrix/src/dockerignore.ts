import { posix } from 'node:path';

/**
 * `.dockerignore` as Docker reads it (moby's dockerignore.ReadAll and patternmatcher), so the build
 * key covers exactly the files `docker build` sends:
 * - one pattern a line; `#` starts a comment line; blank lines skipped; surrounding spaces trimmed;
 * - `!` re-includes what an earlier pattern excluded; the last matching pattern wins;
 * - patterns are cleaned like paths (`./a//b/` is `a/b`, a leading `/` is dropped) and match the
 *   whole path from the context root: `*.md` is only the root's Markdown files, `**\/*.md` is any;
 * - `*` is any run of characters but `/`, `?` one character but `/`, `[a-z]`/`[!a-z]` a class,
 *   `**` any number of directories (also none), `\` escapes the next character;
 * - a pattern that matches a directory excludes everything under it.
 */
export interface IgnorePattern {
  source: string;
  exclusion: boolean;
  regex: RegExp;
}

export class DockerIgnore {
  readonly patterns: readonly IgnorePattern[];

  constructor(text: string) {
    this.patterns = parsePatterns(text);
  }

  /** True when there is nothing to ignore. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when some pattern re-includes paths (`!pattern`), so an excluded directory must still be walked. */
  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `path` (relative to the context, `/`-separated) is left out of the build context. */
  ignores(path: string): boolean {
    const parents = path.split('/').slice(0, -1);
    let ignored = false;
    for (const pattern of this.patterns) {
      let match = pattern.regex.test(path);
      for (let i = 1; !match && i <= parents.length; i++) {
        match = pattern.regex.test(parents.slice(0, i).join('/'));
      }
      if (match) ignored = !pattern.exclusion;
    }
    return ignored;
  }
}

export function parsePatterns(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const exclusion = pattern.startsWith('!');
    if (exclusion) pattern = pattern.slice(1).trim();
    if (pattern !== '') {
      pattern = posix.normalize(pattern).replace(/\/+$/, '');
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push({ source: line.trim(), exclusion, regex: compilePattern(pattern) });
  }
  return patterns;
}

/** Translates one cleaned pattern into an anchored regular expression over `/`-separated paths. */
export function compilePattern(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        out += i + 1 >= pattern.length ? '.*' : '(?:.*/)?';
      } else {
        out += '[^/]*';
      }
    } else if (ch === '?') {
      out += '[^/]';
    } else if (ch === '\\') {
      i++;
      out += escapeRegex(pattern[i] ?? '\\');
    } else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
      } else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body}]`;
        i = close;
      }
    } else {
      out += escapeRegex(ch);
    }
  }
  try {
    return new RegExp(`${out}$`);
  } catch (error: unknown) {
    throw new Error(`the .dockerignore pattern "${pattern}" is not valid: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function escapeRegex(ch: string): string {
  return /[.+^$(){}|[\]\\/*?]/.test(ch) ? `\\${ch}` : ch;
}
