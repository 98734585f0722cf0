/**
 * The verification as Markdown for a job summary: a headline, the facts, a table of services x
 * checks (✅ pass, ❌ fail, – does not apply), policy hash parity, the containers the manifest does
 * not account for, and each failure with the last health output in a collapsible block. Every value
 * is escaped: a container name or a health body can never break the table or inject markup.
 */
import type { CheckCell, VerifyReport } from './verify-report.js';

const MARK = { pass: '✅', fail: '❌', none: '–' } as const;

export function renderVerifySummary(report: VerifyReport): string {
  const parts: string[] = [];
  const failed = report.failures.length;
  parts.push(
    report.healthy
      ? `### ✅ Verified: release ${code(report.releaseId)} runs as signed, ${report.services.length} services healthy`
      : `### ❌ Not healthy: release ${code(report.releaseId)}, ${failed} failed check${failed === 1 ? '' : 's'}`,
  );
  parts.push(
    table(
      ['', ''],
      [
        ['**project**', code(report.project)],
        ['**app dir**', code(report.appDir)],
        ['**current**', report.currentTarget === '' ? '–' : code(report.currentTarget)],
        ['**polls**', `${report.polls} in ${seconds(report.durationMs)} (timeout ${seconds(report.timeoutMs)})`],
      ],
    ),
  );

  if (report.currentTarget !== '' && !pointsAtRelease(report.currentTarget, report.releaseId)) {
    parts.push(
      `⚠️ \`current\` points at ${code(report.currentTarget)}, not at release ${code(report.releaseId)}; ` +
        `the stack was checked against the manifest of ${code(report.releaseId)}, as asked.`,
    );
  }

  parts.push(
    table(
      ['service', 'running', 'healthy', 'digest', 'endpoint'],
      report.services.map((s) => [`**${escape(s.service)}**`, cell(s.running), cell(s.healthy), cell(s.digest), cell(s.endpoint)]),
    ),
  );

  const policy = report.policy;
  parts.push(`**Policy hash** of ${code(policy.path)}: ${policy.agree ? '✅ manifest, host file and services agree' : '❌ they do not agree'}`);
  parts.push(
    table(
      ['source', 'sha256', ''],
      policy.sources.map((s) => [escape(s.source), s.sha256 === undefined ? '–' : code(s.sha256), `${s.agrees ? '✅' : '❌'} ${escape(s.detail)}`]),
    ),
  );

  if (report.extraContainers.length > 0) {
    parts.push('**Containers the manifest does not account for**');
    parts.push(
      table(
        ['container', 'service', 'status', 'image'],
        report.extraContainers.map((c) => [
          `❌ ${escape(c.name)}`,
          c.oneOff ? `${escape(c.service ?? '')} (one-off run)` : escape(c.service ?? '(no service label)'),
          escape(c.status),
          code(c.image),
        ]),
      ),
    );
  }

  if (failed > 0) {
    parts.push('**Failures**');
    parts.push(report.failures.map((f) => `- ❌ **${escape(f.service)}** · ${escape(f.check)}: ${escape(f.detail)}`).join('\n'));
    for (const f of report.failures) {
      if (f.lastHealth !== undefined) parts.push(details(`${f.service} · ${f.check}: last health output`, f.lastHealth));
    }
  }
  return `${parts.join('\n\n')}\n`;
}

/** True when a `current` target names the release's folder (`releases/<id>`). */
function pointsAtRelease(target: string, releaseId: string): boolean {
  return (target.replace(/\/+$/, '').split('/').pop() ?? '') === releaseId;
}

function cell(check: CheckCell): string {
  return check.detail === '' ? MARK[check.outcome] : `${MARK[check.outcome]} ${escape(check.detail)}`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function details(summary: string, body: string): string {
  const fence = body.includes('```') ? '~~~~' : '```';
  return `<details><summary>${escapeHtml(summary)}</summary>\n\n${fence}\n${body.replaceAll(fence, '')}\n${fence}\n\n</details>`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline text: HTML and Markdown specials escaped, one line. */
function escape(text: string): string {
  return escapeHtml(text).replace(/([\\`*_[\]|])/g, '\\$1').replace(/\r?\n/g, ' ');
}

/** An inline code span; `|` still escaped (GitHub splits table cells before reading code spans). */
function code(text: string): string {
  const clean = text.replace(/`/g, "'").replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  return `\`${clean}\``;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
