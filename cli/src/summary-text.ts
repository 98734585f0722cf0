import { stripVTControlCharacters } from 'node:util';
import { Marked } from 'marked';
import { markedTerminal } from 'marked-terminal';

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

/** The outputs an action wrote to its GITHUB_OUTPUT file (`name<<delimiter` blocks, or `name=value` lines). */
export function parseOutputFile(text: string): [string, string][] {
  const outputs: [string, string][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([^<=]+)<<(.+)$/.exec(line);
    if (heredoc?.[1] !== undefined && heredoc[2] !== undefined) {
      const end = lines.indexOf(heredoc[2], i + 1);
      outputs.push([heredoc[1], lines.slice(i + 1, end === -1 ? undefined : end).join('\n')]);
      if (end === -1) break;
      i = end;
      continue;
    }
    const plain = /^([^=]+)=(.*)$/.exec(line);
    if (plain?.[1] !== undefined && plain[2] !== undefined) outputs.push([plain[1], plain[2]]);
  }
  // An output set twice (a default first, the result later) is shown once, with its last value.
  return [...new Map(outputs)];
}

/** Outputs as the terminal shows them: one `name: value` line each, a multi-line value indented under its name. */
export function renderOutputs(outputs: readonly (readonly [string, string])[]): string {
  if (outputs.length === 0) return '';
  const rows = outputs.map(([name, value]) => (value.includes('\n') ? `  ${name}:\n${value.replace(/^/gm, '    ')}` : `  ${name}: ${value}`));
  return `Outputs:\n${rows.join('\n')}\n`;
}
