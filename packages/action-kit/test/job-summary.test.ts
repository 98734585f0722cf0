import { describe, expect, it } from 'vitest';
import { JobSummary } from '@titan/action-kit/job-summary';

describe('JobSummary', () => {
  it('renders a table whose cells cannot break the table or inject markup', () => {
    const md = new JobSummary()
      .heading('Deploy')
      .table(['service', 'digest'], [['titan-brain', 'sha256:ab|cd'], ['<script>x', 'a\nb']])
      .toMarkdown();
    const lines = md.split('\n');
    expect(lines).toContain('## Deploy');
    expect(lines).toContain('| titan-brain | sha256:ab\\|cd |');
    expect(lines).toContain('| &lt;script&gt;x | a b |');
  });

  it('renders a timeline with one row per phase, in order, with durations', () => {
    const md = new JobSummary()
      .timeline([
        { name: 'lock', startedAtMs: 0, durationMs: 120 },
        { name: 'upload', startedAtMs: 120, durationMs: 880 },
        { name: 'verify', startedAtMs: 1000, durationMs: 12_000, outcome: 'failed' },
      ])
      .toMarkdown();
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| phase') && !l.startsWith('| ---'));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('lock');
    expect(rows[0]).toContain('0.12 s');
    expect(rows[2]).toContain('❌ verify');
    expect(rows[2]).toContain('12.0 s');
  });

  it('puts details in a collapsible block that a fence in the body cannot close early', () => {
    const md = new JobSummary().details('last health output', 'a ``` b').toMarkdown();
    expect(md).toContain('<details><summary>last health output</summary>');
    expect(md).toContain('~~~~\na ``` b\n~~~~');
  });
});
