/**
 * A verify with `hosts`: every host verified (packages/verify's verifyStack) against the bundle, or
 * against its own current release read and verified on it, `batch-size` hosts at a time behind the
 * first; a verify changes nothing, so every host is checked and reported even after a failure.
 * Outputs: `healthy` (every host), `hosts` (a JSON row per host) and `report` (one JSON file with
 * every host's report). The job summary has a row per host and each unhealthy host's failures.
 */
import * as core from '@actions/core';
import { jumpHostOf } from '@titan/action-kit/host-inputs';
import { type FleetInputs } from '@titan/action-kit/fleet-inputs';
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import { overHosts, type OverHostsResult } from '@titan/fleet/over-hosts';
import type { Logger } from '@titan/log/logger';
import type { VerifyReport } from '@titan/verify/verify-report';
import { verifyStack } from '@titan/verify/verify-stack';
import { bundleRelease, hostRelease, type ReleaseToVerify, writeReport } from './release-to-verify.js';
import type { VerifySettings } from './settings.js';

interface HostVerify {
  readonly release: ReleaseToVerify;
  readonly report: VerifyReport;
}

const RESULT: Record<OverHostsResult, string> = {
  done: '✅ healthy',
  failed: '❌ not healthy',
  unreachable: '❌ unreachable',
  'host-key-refused': '⛔ host key refused',
  'not-started': '⏸️ not checked',
  cancelled: '⏹️ cancelled',
};

export async function runFleetVerify(settings: VerifySettings, fleet: FleetInputs, logger: Logger): Promise<void> {
  core.setOutput('healthy', 'false');
  const local = settings.bundle === undefined ? undefined : await logger.group('Read the release bundle', () => bundleRelease(settings, logger));
  const outcome = await overHosts<HostVerify>({
    hosts: fleet.hosts,
    batchSize: fleet.batchSize,
    stopOnFailure: false,
    credentials: { privateKey: settings.sshKey, ...(settings.sshKeyPassphrase !== undefined ? { passphrase: settings.sshKeyPassphrase } : {}), jump: jumpHostOf(settings.jump, logger) },
    what: 'Verify',
    logger,
    work: async (host, connection, hostLogger) => {
      const appDir = host.appDir ?? settings.appDir;
      const release = local ?? (await hostRelease(connection, { appDir, publicKeys: settings.publicKeys }, hostLogger));
      const report = await verifyStack(connection, { appDir, project: host.project ?? settings.project, manifest: release.manifest, timeoutMs: settings.timeoutMs, logger: hostLogger });
      return { release, report };
    },
    failure: ({ report }) => (report.healthy ? undefined : `not healthy: ${report.failures.map((f) => `${f.service} ${f.check}`).join(', ')}`),
  });
  const healthy = outcome.rows.every((r) => r.result === 'done');
  const rows = outcome.rows.map((r) => ({
    name: r.host.name,
    address: r.host.address,
    port: r.host.port,
    batch: r.batch,
    result: r.result === 'done' ? 'healthy' : r.result === 'failed' ? 'unhealthy' : r.result,
    release: r.value?.report.releaseId ?? null,
    failures: r.value?.report.failures.map((f) => `${f.service} ${f.check}`) ?? [],
    message: r.message ?? null,
    durationMs: Math.round(r.durationMs),
  }));
  const reportPath = await writeReport(
    outcome.rows.map((r) => ({ host: r.host.name, result: r.result, message: r.message ?? null, report: r.value?.report ?? null })),
    `hosts-${settings.project}`,
  );
  core.setOutput('healthy', String(healthy));
  core.setOutput('hosts', JSON.stringify(rows));
  core.setOutput('report', reportPath);
  logger.info(`Report: ${reportPath}`);

  const summary = new JobSummary();
  const good = outcome.rows.filter((r) => r.result === 'done').length;
  summary.heading(`${healthy ? '✅ Verified' : '❌ Not verified'}: ${good} of ${outcome.rows.length} hosts healthy`, 2);
  summary.facts([
    ['release checked', local?.origin ?? "each host's current release, verified on the host against its trust/"],
    ['hosts', String(outcome.rows.length)],
    ['batches', `${outcome.batches} (the first host alone, then ${fleet.batchSize} at a time)`],
    ['SSH connections', `at most ${outcome.peakConnections} at once, ${outcome.connectionsOpened} in all`],
    ['duration', formatSeconds(outcome.durationMs)],
  ]);
  summary.heading('Hosts', 3);
  summary.table(
    ['host', 'address', 'batch', 'release', 'result', 'duration', 'details'],
    outcome.rows.map((r) => [r.host.name, `${r.host.address}:${r.host.port}`, String(r.batch), r.value?.report.releaseId ?? '–', RESULT[r.result], formatSeconds(r.durationMs), r.message ?? '']),
  );
  for (const r of outcome.rows.filter((x) => x.value !== undefined && !x.value.report.healthy)) {
    summary.details(`${r.host.name}: ${r.value?.report.failures.length ?? 0} failed check(s)`, (r.value?.report.failures ?? []).map((f) => `- ${f.service} ${f.check}: ${f.detail}`).join('\n'));
  }
  await summary.write();
  if (!healthy) {
    const bad = outcome.rows.filter((r) => r.result !== 'done');
    throw new Error(`${bad.length} of ${outcome.rows.length} hosts not verified: ${bad.map((r) => `${r.host.name} (${r.message ?? r.result})`).join('; ')}. The job summary and the report show each host's failures.`);
  }
  logger.info(`Every host (${outcome.rows.length}) is healthy.`);
}
