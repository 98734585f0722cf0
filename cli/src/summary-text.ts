import { stripVTControlCharacters } from 'node:util';
import { Marked } from 'marked';
import { markedTerminal } from 'marked-terminal';
import { keyValueEntries } from '@titan/runner-files/key-value-file';

/**
 * The job summary an action writes (Markdown for GitHub's run page), rendered for a terminal:
 * headings, tables drawn with box characters, code blocks indented, emphasis as the terminal shows
 * it. Colour only when `color` (a TTY without NO_COLOR): a file or a pipe gets plain text. A
 * collapsible `<details>` section is shown open, under its title.
 */
export function renderSummary(markdown: string, options: { color: boolean; width?: number }): string {
  const width = options.width ?? 100;
  const marked = new Marked(markedTerminal({ width, reflowText: false, showSectionPrefix: false, emoji: false }));
  const opened = markdown
    .replace(/<details><summary>([\s\S]*?)<\/summary>/g, (_all, title: string) => `**${title.trim()}**\n`)
    .replace(/<\/details>/g, '');
  const text = marked.parse(opened, { async: false }).replace(/\n{3,}/g, '\n\n');
  return options.color ? text : stripVTControlCharacters(text);
}

/**
 * The outputs an action wrote to its GITHUB_OUTPUT file, for the terminal: an output set twice (a
 * default first, the result later) is shown once, with its last value; a block the run did not
 * finish writing is shown as far as it got.
 */
export function outputsToShow(text: string): [string, string][] {
  return [...new Map(keyValueEntries(text, 'GITHUB_OUTPUT', { lenient: true }))];
}

/** Outputs as the terminal shows them: one `name: value` line each, a multi-line value indented under its name. */
export function renderOutputs(outputs: readonly (readonly [string, string])[]): string {
  if (outputs.length === 0) return '';
  const rows = outputs.map(([name, value]) => (value.includes('\n') ? `  ${name}:\n${value.replace(/^/gm, '    ')}` : `  ${name}: ${value}`));
  return `Outputs:\n${rows.join('\n')}\n`;
}
