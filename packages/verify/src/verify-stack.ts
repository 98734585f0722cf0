/**
 * verifyStack: is what runs on the host what the manifest signed, and is it healthy? Polls over
 * ONE SSH connection until every check holds or the timeout ends. Each poll is one remote command
 * (docker ps + docker inspect of the project's containers and their images + sha256 of the policy
 * file, see stack-probe.ts) followed by the health GETs, in parallel, each through its own SSH
 * tunnel to the port the host publishes on its loopback. Alongside the first poll, the secret
 * files the release mounts are checked and searched for (secret-exposure.ts); that search counts
 * for the poll that holds when it saw the same containers, and runs again after it otherwise.
 */
import { type ReleaseManifest, stackProfileOf } from '@titan/release/manifest';
import type { StackProfile } from '@titan/release/stack-profile';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError, CommandTimeoutError, describeError } from '@titan/ssh/errors';
import { InspectFormatError } from './container-state.js';
import { locateEndpoint } from './endpoint-target.js';
import { type HealthEndpointSpec, healthEndpointsOf } from './health-endpoints.js';
import { requestHealth } from './health-request.js';
import { type EndpointProbe, type Evaluation, evaluateStack } from './stack-evaluation.js';
import { probeStack, type StackSnapshot } from './stack-probe.js';
import { checkSecretFiles, type SecretCheck } from './secret-exposure.js';
import type { VerifyFailure, VerifyReport } from './verify-report.js';

export type { VerifyReport, ServiceCheck, VerifyFailure, PolicyParity, CheckCell } from './verify-report.js';
export { renderVerifySummary } from './verify-summary.js';

export interface VerifyOptions {
  /** The application directory on the host (`/opt/titan`); the policy file is read under `current/`. */
  appDir: string;
  /** The compose project name (`titan`). */
  project: string;
  /** The release that must be running. */
  manifest: ReleaseManifest;
  /** How long to keep polling for the checks to hold. */
  timeoutMs: number;
  /** Pause between polls (default 2 s). */
  pollMs?: number;
  logger: Logger;
  signal?: AbortSignal;
  /**
   * The stack profile that says which endpoints to GET and who reports the policy hash (default: the
   * manifest's own; a manifest without one, signed before profiles, is refused).
   */
  profile?: StackProfile;
  /** Time allowed for one health GET (default 5 s). */
  requestTimeoutMs?: number;
}

const DEFAULT_POLL_MS = 2000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** A poll's remote command always gets at least this long, even when the deadline is closer. */
const MIN_PROBE_TIMEOUT_MS = 10_000;

export async function verifyStack(connection: SshConnection, options: VerifyOptions): Promise<VerifyReport> {
  const { logger, manifest } = options;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const pollMs = Math.max(100, options.pollMs ?? DEFAULT_POLL_MS);
  const profile = options.profile ?? stackProfileOf(manifest);
  const specs = healthEndpointsOf(profile);
  const reporters = profile.policyReporters;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const serviceCount = Object.keys(manifest.images).length;
  logger.info(
    `Verifying release ${manifest.releaseId} (${serviceCount} services) in project ${options.project} on ${connection.host}, for up to ${Math.round(options.timeoutMs / 1000)} s`,
  );

  const secretCheck = (): Promise<SecretCheck> => checkSecretFiles(connection, { appDir: options.appDir, project: options.project, manifest, timeoutMs: MIN_PROBE_TIMEOUT_MS });
  // The secret files are searched for alongside the first poll (most verifications hold at once); a
  // search counts only for a poll that holds and saw the very containers it searched.
  let early: Promise<SecretCheck | Error> | undefined = secretCheck().catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  let polls = 0;
  let lastPending = '';
  for (;;) {
    polls += 1;
    const pollStarted = Date.now();
    const { evaluation, currentTarget, containerIds } = await pollOnce(connection, options, specs, reporters, requestTimeoutMs, deadline);
    const report: VerifyReport = {
      healthy: evaluation.failures.length === 0,
      project: options.project,
      appDir: options.appDir,
      releaseId: manifest.releaseId,
      currentTarget,
      ...evaluation,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      timeoutMs: options.timeoutMs,
      polls,
    };
    logger.debug(`poll ${polls} took ${Date.now() - pollStarted} ms: ${report.failures.length} check(s) failing`);
    const alongside = early;
    early = undefined;
    if (report.healthy) {
      // The secrets the release mounts as files: kept as they must be, and their content nowhere else.
      // Checked once the stack runs (its logs and compose model are what is searched); waiting more cannot fix it.
      const secrets = await searchedWith(alongside, containerIds, secretCheck);
      const secretFailures = secrets.failures;
      if (secretFailures.length > 0) {
        logger.info(`Verification of ${manifest.releaseId} failed: ${describeFailures(secretFailures)}`);
        return { ...report, healthy: false, failures: [...report.failures, ...secretFailures], durationMs: Date.now() - started };
      }
      logger.info(`All ${serviceCount} services verified after ${polls} poll(s), ${(report.durationMs / 1000).toFixed(1)} s.`);
      return report;
    }
    const pending = report.failures.map((f) => `${f.service} ${f.check}`).join(', ');
    if (pending !== lastPending) {
      logger.info(`Poll ${polls}: waiting for ${report.failures.length} check(s): ${pending}`);
      lastPending = pending;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      logger.info(`Verification of ${manifest.releaseId} failed after ${polls} poll(s): ${describeFailures(report.failures)}`);
      await alongside;
      return report;
    }
    // A search started alongside this poll ends before the next poll (it counts for none).
    await Promise.all([sleep(Math.min(pollMs, remaining), options.signal), alongside]);
    options.signal?.throwIfAborted();
  }
}

async function pollOnce(
  connection: SshConnection,
  options: VerifyOptions,
  specs: Readonly<Record<string, HealthEndpointSpec>>,
  reporters: readonly string[],
  requestTimeoutMs: number,
  deadline: number,
): Promise<{ evaluation: Evaluation; currentTarget: string; containerIds: readonly string[] }> {
  let snapshot: StackSnapshot;
  try {
    snapshot = await probeStack(connection, {
      project: options.project,
      appDir: options.appDir,
      policyPath: options.manifest.policy.path,
      timeoutMs: Math.max(MIN_PROBE_TIMEOUT_MS, deadline - Date.now()),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error: unknown) {
    // A command that failed or hung may do better on the next poll; a lost connection or an abort may not.
    if (error instanceof CommandFailedError || error instanceof CommandTimeoutError || error instanceof InspectFormatError) {
      return { evaluation: notProbed(options.manifest, `the host could not be probed: ${describeError(error)}`), currentTarget: '', containerIds: [] };
    }
    throw error;
  }

  const probes = new Map<string, EndpointProbe>();
  await Promise.all(
    Object.keys(options.manifest.images).map(async (service) => {
      const spec = specs[service];
      if (spec === undefined) return;
      const container = snapshot.containers.find((c) => c.service === service && !c.oneOff && c.status === 'running');
      if (container === undefined) return;
      const location = locateEndpoint(container, spec);
      if ('problem' in location) {
        probes.set(service, { location });
        return;
      }
      const response = await requestHealth((host, port) => connection.openTunnel(host, port), location.target, requestTimeoutMs, options.signal);
      probes.set(service, { location, response });
    }),
  );
  const evaluation = evaluateStack({
    manifest: options.manifest,
    project: options.project,
    snapshot,
    endpoints: probes,
    endpointSpecs: specs,
    policyReporters: reporters,
  });
  return { evaluation, currentTarget: snapshot.currentTarget, containerIds: snapshot.containers.map((c) => c.id).sort() };
}

/**
 * The secret check for the poll that held and saw `containerIds`: the one started alongside it when
 * it searched exactly those containers, else (it failed, or the containers changed) one run now.
 */
async function searchedWith(started: Promise<SecretCheck | Error> | undefined, containerIds: readonly string[], run: () => Promise<SecretCheck>): Promise<SecretCheck> {
  const early = await started;
  if (early !== undefined && !(early instanceof Error) && (early.searched === undefined || early.searched.join(',') === containerIds.join(','))) return early;
  return run();
}

function notProbed(manifest: ReleaseManifest, detail: string): Evaluation {
  const cell = { outcome: 'none' as const, detail: 'not probed' };
  return {
    services: Object.keys(manifest.images)
      .sort()
      .map((service) => {
        const image = manifest.images[service];
        return {
          service,
          expectedImage: image ? `${image.image}@${image.digest}` : '',
          containers: [],
          running: cell,
          healthy: cell,
          digest: cell,
          endpoint: cell,
        };
      }),
    extraContainers: [],
    policy: {
      path: manifest.policy.path,
      sha256: manifest.policy.sha256,
      sources: [{ source: 'manifest', sha256: manifest.policy.sha256, agrees: true, detail: 'signed' }],
      agree: false,
    },
    failures: [{ service: 'host', check: 'probe', detail }],
  };
}

function describeFailures(failures: readonly VerifyFailure[]): string {
  const shown = failures.slice(0, 8).map((f) => `${f.service} ${f.check} (${f.detail})`);
  return `${shown.join('; ')}${failures.length > shown.length ? `; and ${failures.length - shown.length} more` : ''}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
