/**
 * Judges one poll of the host against the signed manifest: pure, no I/O. Every service of the
 * manifest must have its containers running, healthy where they have a healthcheck, created from the
 * signed `repo@sha256:...` and running an image whose RepoDigests hold it, and answering its health
 * endpoint with status ok; no other container may belong to the project; and the policy hash must
 * be the same in the manifest, in the file on the host and in what the services report.
 *
 * A failure is listed once, at its cause: a stopped service fails `running`; its healthcheck and
 * endpoint cells show ❌ "not running" without repeating the failure.
 */
import type { ReleaseManifest } from '@titan/release/manifest';
import type { ContainerState, ImageState } from './container-state.js';
import { type EndpointLocation, endpointUrl } from './endpoint-target.js';
import { excerpt, type HealthDocument, parseHealthDocument } from './health-document.js';
import type { HealthEndpointSpec } from './health-endpoints.js';
import type { HealthResponse } from './health-request.js';
import type { StackSnapshot } from './stack-probe.js';
import type {
  CheckCell,
  ContainerSummary,
  EndpointSummary,
  ExtraContainer,
  PolicyParity,
  PolicySource,
  ServiceCheck,
  VerifyFailure,
} from './verify-report.js';

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

function judgeEndpoint(
  service: string,
  spec: HealthEndpointSpec,
  response: HealthResponse,
  document: HealthDocument | undefined,
): { ok: true } | { ok: false; cell: string; detail: string } {
  if (response.problem !== undefined) return { ok: false, cell: 'no answer', detail: `no answer (${response.problem})` };
  if (response.statusCode !== 200) {
    return { ok: false, cell: `HTTP ${response.statusCode ?? '?'}`, detail: `answered HTTP ${response.statusCode ?? '?'}, expected 200` };
  }
  if (document === undefined) return { ok: false, cell: 'not JSON', detail: 'the body is not a JSON object' };
  if (document.status !== 'ok') {
    const status = document.status === undefined ? 'no status' : `status "${excerpt(document.status, 40)}"`;
    return { ok: false, cell: status, detail: `the health document says ${status}, expected "ok"` };
  }
  if (spec.checkServiceName && document.service !== undefined && document.service !== service) {
    return {
      ok: false,
      cell: `answers as ${excerpt(document.service, 40)}`,
      detail: `the endpoint answers as service "${excerpt(document.service, 60)}", not ${service}: its published port is wired to another service`,
    };
  }
  return { ok: true };
}

function endpointSummary(url: string, response: HealthResponse, document: HealthDocument | undefined): EndpointSummary {
  return {
    url,
    durationMs: response.durationMs,
    ...(response.statusCode !== undefined ? { statusCode: response.statusCode } : {}),
    ...(document?.status !== undefined ? { status: document.status } : {}),
    ...(document?.mode !== undefined ? { mode: document.mode } : {}),
    ...(document?.policyHash !== undefined ? { policyHash: document.policyHash } : {}),
  };
}

function digestProblem(
  container: ContainerState,
  expected: string,
  images: ReadonlyMap<string, ImageState>,
): { cell: string; detail: string } | undefined {
  if (container.configImage !== expected) {
    const tagged = !container.configImage.includes('@');
    return {
      cell: tagged ? `runs ${tail(container.configImage)}` : `other digest ${shortDigest(container.configImage.split('@')[1] ?? '')}`,
      detail: `${container.name} was created from ${container.configImage}${tagged ? ' (a tag, not a digest)' : ''}`,
    };
  }
  const image = images.get(container.imageId);
  if (image === undefined) {
    return { cell: 'image unknown', detail: `${container.name} runs image ${container.imageId}, which docker image inspect did not show` };
  }
  if (!image.repoDigests.includes(expected)) {
    return {
      cell: 'image differs',
      detail: `${container.name} runs image ${container.imageId.slice(0, 19)}, whose RepoDigests (${image.repoDigests.join(', ') || 'none'}) do not include ${expected}`,
    };
  }
  return undefined;
}

function findExtraContainers(manifest: ReleaseManifest, containers: readonly ContainerState[]): ExtraContainer[] {
  return containers
    .filter((c) => c.oneOff || c.service === undefined || manifest.images[c.service] === undefined)
    .map((c) => ({
      name: c.name,
      id: c.id.slice(0, 12),
      ...(c.service !== undefined ? { service: c.service } : {}),
      oneOff: c.oneOff,
      status: c.status,
      image: c.configImage,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function evaluatePolicy(input: EvaluationInput, documents: ReadonlyMap<string, HealthDocument>, failures: VerifyFailure[]): PolicyParity {
  const { manifest, snapshot } = input;
  const signed = manifest.policy.sha256;
  const sources: PolicySource[] = [{ source: 'manifest', sha256: signed, agrees: true, detail: 'signed' }];

  const file = snapshot.policyFile;
  if (file.state === 'present') {
    const agrees = file.sha256 === signed;
    sources.push({ source: 'host file', sha256: file.sha256, agrees, detail: file.path });
    if (!agrees) {
      failures.push({
        service: 'host',
        check: 'policy',
        detail: `${file.path} has sha256 ${file.sha256}; the manifest signed ${signed}: the file on the host is not the signed policy (edited on the host, or current/ is another release)`,
      });
    }
  } else {
    sources.push({ source: 'host file', agrees: false, detail: `${file.path} is ${file.state}` });
    failures.push({ service: 'host', check: 'policy', detail: `${file.path} is ${file.state}; the manifest signed ${manifest.policy.path} with sha256 ${signed}` });
  }

  const reporters = new Set(input.policyReporters.filter((s) => manifest.images[s] !== undefined));
  const reporting = [...new Set([...reporters, ...[...documents].filter(([, d]) => d.policyHash).map(([s]) => s)])].sort();
  for (const service of reporting) {
    const reported = documents.get(service)?.policyHash;
    if (reported === undefined || reported === '') {
      sources.push({ source: service, agrees: false, detail: 'no policyHash reported' });
      failures.push({ service, check: 'policy', detail: `${service} did not report a policyHash on its health endpoint (see its endpoint check); policy parity cannot be shown` });
      continue;
    }
    const agrees = reported === signed;
    sources.push({ source: service, sha256: reported, agrees, detail: agrees ? 'reported on /health' : 'reported on /health: differs' });
    if (!agrees) {
      failures.push({ service, check: 'policy', detail: `${service} reports policyHash ${excerpt(reported, 80)}; the manifest signed ${signed}: it loaded another policy` });
    }
  }
  return { path: manifest.policy.path, sha256: signed, sources, agree: sources.every((s) => s.agrees) };
}

function describeState(container: ContainerState): string {
  switch (container.status) {
    case 'exited':
    case 'dead':
      return `${container.status} (${container.exitCode})`;
    case 'created':
      return 'created, not started';
    default:
      return container.status;
  }
}

function healthLogLine(container: ContainerState): string | undefined {
  const last = container.health?.last;
  if (last === undefined) return undefined;
  const output = excerpt(last.output);
  return `${container.name} healthcheck${last.end ? ` at ${last.end.replace(/\.\d+Z$/, 'Z')}` : ''}: exit ${last.exitCode}${output ? `, ${output}` : ', no output'}`;
}

function containerSummary(container: ContainerState): ContainerSummary {
  return {
    name: container.name,
    id: container.id.slice(0, 12),
    status: container.status,
    ...(container.health ? { health: container.health.status } : {}),
    image: container.configImage,
  };
}

/** `sha256:0123456789ab`: enough to tell digests apart in a table cell. */
export function shortDigest(digest: string): string {
  return digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1');
}

function tail(reference: string): string {
  const slash = reference.lastIndexOf('/');
  return slash < 0 ? reference : `…${reference.slice(slash)}`;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
