/**
 * The syntax of GITHUB_OUTPUT and GITHUB_ENV, as a runner reads them after a step: `name=value`
 * lines and `name<<DELIMITER` blocks (what core.setOutput and core.exportVariable write), blank
 * lines ignored, a trailing CR dropped. Read by the local runner, the CLI (to show an action's
 * outputs) and the test host (to assert on them).
 */
export interface KeyValueFileOptions {
  /**
   * Show what can be read rather than refuse the file: a block whose closing delimiter never came
   * (the process ended while writing it) takes every line after its opening one, and a line that
   * is neither form is passed over. Without it both are errors, as on a runner.
   */
  readonly lenient?: boolean;
}

/** The values in the order they were written; a name set twice appears twice (the last one counts). */
export function keyValueEntries(text: string, what: string, options: KeyValueFileOptions = {}): [string, string][] {
  const entries: [string, string][] = [];
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block?.[1] !== undefined && block[2] !== undefined) {
      const end = lines.indexOf(block[2], i + 1);
      if (end === -1 && options.lenient !== true) throw new Error(`${what}: ${block[1]} has no closing delimiter ${block[2]}`);
      entries.push([block[1], lines.slice(i + 1, end === -1 ? undefined : end).join('\n')]);
      if (end === -1) break;
      i = end;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) entries.push([line.slice(0, eq), line.slice(eq + 1)]);
    else if (options.lenient !== true) throw new Error(`${what}: invalid line ${JSON.stringify(line)} (expected name=value or name<<DELIMITER)`);
  }
  return entries;
}

/** The values by name, the last one of a name set twice. */
export function parseKeyValueFile(text: string, what: string, options: KeyValueFileOptions = {}): Record<string, string> {
  return Object.fromEntries(keyValueEntries(text, what, options));
}
