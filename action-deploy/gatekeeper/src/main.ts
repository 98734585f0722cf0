import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { coreLogger } from '@titan/action-kit/core-logger';
import { findingPlace, type Finding } from '@titan/gatekeeper/finding';
import { runGate, type GateReport } from '@titan/gatekeeper/gate';
import { PreviousManifestError, readPreviousManifest, type PreviousManifest } from '@titan/gatekeeper/previous-manifest';
import { ReleaseSourceError } from '@titan/release/release-source-error';
import { redactValues } from '@titan/gatekeeper/value-masking';
import { gateSummary } from './gate-summary.js';
import { readSettings, type GatekeeperSettings } from './settings.js';
import { readProductionValues, VALUES_ORIGIN } from './values-input.js';

/** How many findings the failure message lists (the summary and the findings output hold them all). */
const FIRST_FINDINGS = 5;

export async function run(): Promise<void> {
  const settings = readSettings();
  const values = await readProductionValues(settings);
  const previousManifest = await readManifest(settings);
  const report = await gate(settings, values.sources, previousManifest);

  const findings = report.findings.map((f) => redactFinding(f, values.masked));
  const redacted: GateReport = { ...report, findings };
  for (const finding of findings) annotate(finding);
  core.setOutput('ready', String(report.ready));
  core.setOutput('findings', JSON.stringify(findings));
  await gateSummary(redacted, { warnOnly: settings.warnOnly, source: settings.source, posture: settings.posture }).write();

  const blocking = findings.filter((f) => f.severity === 'error');
  if (report.ready) {
    core.info(`Ready to deploy${findings.length > 0 ? ` (${findings.length} warning(s))` : ''}`);
    return;
  }
  const message = `Deploy refused: ${blocking.length} finding(s) block it:\n${blocking
    .slice(0, FIRST_FINDINGS)
    .map((f) => `- ${f.file === null ? '' : `${findingPlace(f)} `}[${f.check}] ${f.message}`)
    .join('\n')}${blocking.length > FIRST_FINDINGS ? `\n… and ${blocking.length - FIRST_FINDINGS} more (see the job summary)` : ''}`;
  if (settings.warnOnly) {
    core.warning(`${message}\n(warn-only: the step passes)`);
    return;
  }
  throw new Error(message);
}

async function gate(settings: GatekeeperSettings, sources: Awaited<ReturnType<typeof readProductionValues>>['sources'], previousManifest: PreviousManifest | undefined): Promise<GateReport> {
  const ci = settings.ci;
  try {
    return await runGate({
      source: settings.source,
      pathRoot: settings.workspace,
      composeFiles: settings.composeFiles,
      values: sources,
      required: settings.required,
      posture: settings.posture,
      previousManifest,
      ci: ci === undefined ? undefined : { client: getOctokit(ci.token), owner: ci.owner, repo: ci.repo, sha: ci.sha, runId: ci.runId },
      logger: coreLogger,
    });
  } catch (error: unknown) {
    if (error instanceof ReleaseSourceError) throw new ConfigurationError(`Input source: ${error.message}`, { input: 'source', cause: error });
    throw error;
  }
}

async function readManifest(settings: GatekeeperSettings): Promise<PreviousManifest | undefined> {
  if (settings.previousManifest === undefined) return undefined;
  try {
    return await readPreviousManifest(settings.previousManifest);
  } catch (error: unknown) {
    if (error instanceof PreviousManifestError) throw new ConfigurationError(`Input previous-manifest: ${error.message}`, { input: 'previous-manifest', cause: error });
    throw error;
  }
}

function redactFinding(finding: Finding, masked: readonly string[]): Finding {
  return {
    ...finding,
    file: finding.file === null ? null : redactValues(finding.file, masked),
    message: redactValues(finding.message, masked),
    fix: redactValues(finding.fix, masked),
  };
}

/** An annotation on the file and line, where the file is in the workspace. */
function annotate(finding: Finding): void {
  const inWorkspace = finding.file !== null && finding.file !== VALUES_ORIGIN && !finding.file.startsWith('/');
  const properties: core.AnnotationProperties = {
    title: `gatekeeper: ${finding.check}`,
    ...(inWorkspace && finding.file !== null ? { file: finding.file } : {}),
    ...(inWorkspace && finding.line !== null ? { startLine: finding.line } : {}),
  };
  const text = `${finding.file === null ? '' : `${findingPlace(finding)}: `}${finding.message}. Fix: ${finding.fix}`;
  if (finding.severity === 'error') core.error(text, properties);
  else core.warning(text, properties);
}
