/**
 * Judges one poll of the host against the signed manifest: pure, no I/O. Every service of the
 * manifest must have its containers running, healthy where they have a healthcheck, created from the
 * signed `repo@sha256:...` and running an image whose RepoDigests hold it, and answering its health
 * endpoint with status ok; no other container may belong to the project; and the policy hash must
 * be the same in the manifest, in the file on the host and in what the services report.
 *
 * The container checks are container-judgement.ts, the endpoint's endpoint-judgement.ts, policy
 * parity policy-parity.ts. A failure is listed once, at its cause: a stopped service fails `running`; its healthcheck and
 * endpoint cells show ❌ "not running" without repeating the failure.
 */
import type { ReleaseManifest } from '@titan/release/manifest';
import { containerSummary, describeState, digestProblem, findExtraContainers, healthLogLine, shortDigest } from './container-judgement.js';
import { endpointSummary, judgeEndpoint } from './endpoint-judgement.js';
import { type EndpointLocation, endpointUrl } from './endpoint-target.js';
import { excerpt, type HealthDocument, parseHealthDocument } from './health-document.js';
import type { HealthEndpointSpec } from './health-endpoints.js';
import type { HealthResponse } from './health-request.js';
import { evaluatePolicy } from './policy-parity.js';
import type { StackSnapshot } from './stack-probe.js';
import type { CheckCell, EndpointSummary, ExtraContainer, PolicyParity, ServiceCheck, VerifyFailure } from './verify-report.js';

export interface EndpointProbe {
  readonly location: EndpointLocation;
  /** Absent when the location has a problem (nothing was requested). */
  readonly response?: HealthResponse;
}

export interface EvaluationInput {
  readonly manifest: ReleaseManifest;
  readonly project: string;
  readonly snapshot: Omit<StackSnapshot, 'durationMs'>;
  /** Service -> its endpoint probe, for the services that have an endpoint spec and a running container. */
  readonly endpoints: ReadonlyMap<string, EndpointProbe>;
  readonly endpointSpecs: Readonly<Record<string, HealthEndpointSpec>>;
  readonly policyReporters: readonly string[];
}

export interface Evaluation {
  readonly services: ServiceCheck[];
  readonly extraContainers: ExtraContainer[];
  readonly policy: PolicyParity;
  readonly failures: VerifyFailure[];
}

const pass = (detail: string): CheckCell => ({ outcome: 'pass', detail });
const fail = (detail: string): CheckCell => ({ outcome: 'fail', detail });
const none = (detail: string): CheckCell => ({ outcome: 'none', detail });

export function evaluateStack(input: EvaluationInput): Evaluation {
  const { manifest, snapshot } = input;
  const failures: VerifyFailure[] = [];
  const documents = new Map<string, HealthDocument>();
  const services = Object.keys(manifest.images)
    .sort()
    .map((service) => evaluateService(service, input, failures, documents));
  const extraContainers = findExtraContainers(manifest, snapshot.containers);
  for (const extra of extraContainers) {
    const what = extra.oneOff
      ? `one-off container ${extra.name} (docker compose run) is ${extra.status}`
      : extra.service === undefined
        ? `container ${extra.name} has no compose service label and is ${extra.status}`
        : `container ${extra.name} of service ${extra.service}, which the manifest does not list, is ${extra.status}`;
    failures.push({
      service: extra.service ?? extra.name,
      check: 'extra',
      detail: `${what} in project ${input.project}; remove it (docker rm -f ${extra.name}) or add the service to the release`,
    });
  }
  const policy = evaluatePolicy(input, documents, failures);
  return { services, extraContainers, policy, failures };
}

function evaluateService(
  service: string,
  input: EvaluationInput,
  failures: VerifyFailure[],
  documents: Map<string, HealthDocument>,
): ServiceCheck {
  const signed = input.manifest.images[service];
  const expectedImage = signed === undefined ? '' : `${signed.image}@${signed.digest}`;
  const containers = input.snapshot.containers.filter((c) => c.service === service && !c.oneOff);
  const spec = input.endpointSpecs[service];
  const lastHealthOf = (extra?: string): string | undefined => {
    const parts = [...containers.map(healthLogLine).filter((l): l is string => l !== undefined), ...(extra ? [extra] : [])];
    return parts.length === 0 ? undefined : parts.join('\n');
  };

  // running
  let running: CheckCell;
  const notRunning = containers.filter((c) => c.status !== 'running');
  if (containers.length === 0) {
    running = fail('missing');
    failures.push({ service, check: 'running', detail: `no container of ${service} in project ${input.project}` });
  } else if (notRunning.length > 0) {
    running = fail(notRunning.map(describeState).join(', '));
    failures.push({
      service,
      check: 'running',
      detail: notRunning.map((c) => `${c.name} is ${describeState(c)}${c.error ? ` (${excerpt(c.error, 200)})` : ''}`).join('; '),
      ...optional('lastHealth', lastHealthOf()),
    });
  } else {
    running = pass(containers.length === 1 ? 'running' : `${containers.length} running`);
  }
  const isRunning = running.outcome === 'pass';

  // healthy
  let healthy: CheckCell;
  const withHealthcheck = containers.filter((c) => c.health !== undefined);
  if (containers.length > 0 && withHealthcheck.length === 0) {
    healthy = none('no healthcheck');
  } else if (!isRunning) {
    healthy = fail('not running');
  } else {
    const unhealthy = withHealthcheck.filter((c) => c.health?.status !== 'healthy');
    if (unhealthy.length === 0) {
      healthy = pass('healthy');
    } else {
      healthy = fail(unhealthy.map((c) => c.health?.status ?? 'unknown').join(', '));
      failures.push({
        service,
        check: 'healthy',
        detail: unhealthy
          .map((c) => `${c.name} is ${c.health?.status ?? 'unknown'}${c.health && c.health.failingStreak > 0 ? ` (${c.health.failingStreak} failed checks in a row)` : ''}`)
          .join('; '),
        ...optional('lastHealth', lastHealthOf()),
      });
    }
  }

  // digest
  let digest: CheckCell;
  if (containers.length === 0) {
    digest = none('no container');
  } else {
    const problems = containers
      .map((c) => digestProblem(c, expectedImage, input.snapshot.images))
      .filter((p): p is { cell: string; detail: string } => p !== undefined);
    if (problems.length === 0) {
      digest = pass(signed === undefined ? '' : shortDigest(signed.digest));
    } else {
      digest = fail(problems.map((p) => p.cell).join(', '));
      failures.push({ service, check: 'digest', detail: `${problems.map((p) => p.detail).join('; ')}; the manifest signed ${expectedImage}` });
    }
  }

  // endpoint
  let endpoint: CheckCell;
  let endpointResult: EndpointSummary | undefined;
  const probe = input.endpoints.get(service);
  if (spec === undefined) {
    endpoint = none('no endpoint (Docker healthcheck only)');
  } else if (!isRunning) {
    endpoint = fail('not running');
  } else if (probe === undefined) {
    endpoint = fail('not probed');
    failures.push({ service, check: 'endpoint', detail: `the health endpoint of ${service} was not probed` });
  } else if ('problem' in probe.location) {
    endpoint = fail('not published');
    failures.push({ service, check: 'endpoint', detail: probe.location.problem });
  } else {
    const url = endpointUrl(probe.location.target);
    const response = probe.response ?? { problem: 'no request was made', durationMs: 0 };
    const document = response.body === undefined ? undefined : parseHealthDocument(response.body);
    if (document !== undefined) documents.set(service, document);
    endpointResult = endpointSummary(url, response, document);
    const verdict = judgeEndpoint(service, spec, response, document);
    if (verdict.ok) {
      endpoint = pass(document?.mode ? `ok, ${document.mode}` : 'ok');
    } else {
      endpoint = fail(verdict.cell);
      const body = response.body === undefined ? undefined : `GET ${url} -> HTTP ${response.statusCode ?? '?'}: ${excerpt(response.body)}`;
      failures.push({ service, check: 'endpoint', detail: `GET ${url} through the SSH connection: ${verdict.detail}`, ...optional('lastHealth', lastHealthOf(body)) });
    }
  }

  return {
    service,
    expectedImage,
    containers: containers.map(containerSummary),
    running,
    healthy,
    digest,
    endpoint,
    ...(endpointResult ? { endpointResult } : {}),
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
