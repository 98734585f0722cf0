import * as core from '@actions/core';

/**
 * A job summary a person reads instead of the log: headings, tables, collapsible details and a
 * timeline of phases. Built as Markdown text (pure, testable), written once at the end.
 * Every cell is escaped: a value can never break the table or inject markup.
 */
export interface TimelinePhase {
  name: string;
  /** Milliseconds since the start of the run. */
  startedAtMs: number;
  durationMs: number;
  outcome?: 'ok' | 'failed' | 'skipped';
}

let written = false;

/** True once any summary of this run was written (the entry point writes one only if none was). */
export function summaryWritten(): boolean {
  return written;
}

export class JobSummary {
  private readonly parts: string[] = [];

  heading(text: string, level: 1 | 2 | 3 = 2): this {
    this.parts.push(`${'#'.repeat(level)} ${escapeInline(text)}`);
    return this;
  }

  /** A paragraph of Markdown the caller wrote (already safe). */
  markdown(text: string): this {
    this.parts.push(text);
    return this;
  }

  /** A paragraph of plain text, escaped. */
  text(text: string): this {
    this.parts.push(escapeInline(text));
    return this;
  }

  /** Key/value facts as a two-column table. */
  facts(rows: readonly (readonly [string, string])[]): this {
    return this.table(['', ''], rows.map(([k, v]) => [`**${escapeCell(k)}**`, escapeCell(v)]), { raw: true });
  }

  table(headers: readonly string[], rows: readonly (readonly string[])[], options: { raw?: boolean } = {}): this {
    const cell = options.raw ? (s: string) => s : escapeCell;
    const lines = [
      `| ${headers.map(escapeCell).join(' | ')} |`,
      `| ${headers.map(() => '---').join(' | ')} |`,
      ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
    ];
    this.parts.push(lines.join('\n'));
    return this;
  }

  /** A collapsible section; its body is shown as a code block (log excerpts, JSON). */
  details(summary: string, body: string): this {
    const fence = body.includes('```') ? '~~~~' : '```';
    this.parts.push(
      `<details><summary>${escapeHtml(summary)}</summary>\n\n${fence}\n${body}\n${fence}\n\n</details>`,
    );
    return this;
  }

  /** The phases of the run with their durations, and a bar per phase to see where time went. */
  timeline(phases: readonly TimelinePhase[]): this {
    const total = Math.max(1, ...phases.map((p) => p.startedAtMs + p.durationMs));
    const width = 24;
    const rows = phases.map((p) => {
      const lead = Math.round((p.startedAtMs / total) * width);
      const len = Math.max(1, Math.round((p.durationMs / total) * width));
      const bar = `${'·'.repeat(Math.min(lead, width - 1))}${'█'.repeat(Math.min(len, width - Math.min(lead, width - 1)))}`;
      const mark = p.outcome === 'failed' ? '❌' : p.outcome === 'skipped' ? '⏭️' : '✅';
      return [`${mark} ${escapeCell(p.name)}`, `+${formatSeconds(p.startedAtMs)}`, formatSeconds(p.durationMs), `\`${bar}\``];
    });
    return this.table(['phase', 'start', 'duration', 'timeline'], rows, { raw: true });
  }

  toMarkdown(): string {
    return `${this.parts.join('\n\n')}\n`;
  }

  /** Appends the summary to the job's summary file (GITHUB_STEP_SUMMARY), when there is one. */
  async write(): Promise<void> {
    if (!process.env['GITHUB_STEP_SUMMARY']) return;
    await core.summary.addRaw(this.toMarkdown(), true).write();
    written = true;
  }
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeInline(text: string): string {
  return escapeHtml(text).replace(/([\\`*_[\]|])/g, '\\$1').replace(/\r?\n/g, ' ');
}

function escapeCell(text: string): string {
  return escapeInline(text);
}
