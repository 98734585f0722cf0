/**
 * The judgement of one poll, without a host: the manifest is a real release of examples/titan
 * signed here with a fresh key; the containers are what `docker inspect` prints for such a stack,
 * then changed the way a bad deploy changes them.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@titan/log/logger';
import type { ReleaseManifest } from '@titan/release/manifest';
import { generateReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { type ContainerState, parseContainerLine } from '@titan/verify/container-state';
import { locateEndpoint } from '@titan/verify/endpoint-target';
import { type HealthEndpointSpec, healthEndpointsOf } from '@titan/verify/health-endpoints';
import { stackProfileOf } from '@titan/release/manifest';
import type { HealthResponse } from '@titan/verify/health-request';
import { type EndpointProbe, evaluateStack } from '@titan/verify/stack-evaluation';
import { parseStackProbe, type StackSnapshot } from '@titan/verify/stack-probe';
import { renderVerifySummary } from '@titan/verify/verify-stack';
import type { VerifyReport } from '@titan/verify/verify-report';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'titan');
const PROJECT = 'titan';
const POLICY_PATH = '/opt/titan/current/config/policy.json';

let manifest: ReleaseManifest;
let output: string;
/** The health endpoints examples/titan's stack profile (stack.yml) signs into the manifest. */
let endpointSpecs: Readonly<Record<string, HealthEndpointSpec>>;

beforeAll(async () => {
  output = await mkdtemp(join(tmpdir(), 'titan-verify-unit-'));
  const services = [
    'grafana', 'nats', 'postgres', 'prometheus', 'redis', 'titan-ai-quant', 'titan-brain', 'titan-console', 'titan-console-api',
    'titan-execution', 'titan-hunter', 'titan-opsd', 'titan-powerlaw-lab', 'titan-scavenger', 'titan-sentinel', 'titan-tempo', 'traefik',
  ];
  const digests = new Map(services.map((s) => [s, `sha256:${createHash('sha256').update(s).digest('hex')}`]));
  const release = await signRelease(
    {
      source: EXAMPLE,
      selection: { digests },
      signingKey: generateReleaseKey(),
      git: { sha: 'a'.repeat(40), ref: 'refs/heads/main' },
      runUrl: '',
      output,
    },
    silentLogger,
  );
  manifest = release.manifest;
  endpointSpecs = healthEndpointsOf(stackProfileOf(manifest));
});

afterAll(async () => {
  await rm(output, { recursive: true, force: true });
});

/** `docker inspect --format CONTAINER_INSPECT_FORMAT` of a healthy container of `service`, as Docker prints it. */
function inspectLine(service: string, changes: { configImage?: string; status?: string; health?: string; exitCode?: number; ports?: unknown } = {}): string {
  const image = manifest.images[service];
  const spec = endpointSpecs[service];
  const running = (changes.status ?? 'running') === 'running';
  const ports = changes.ports ?? (spec && running ? { [`${spec.containerPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(spec.containerPort) }] } : {});
  return JSON.stringify({
    id: createHash('sha256').update(`container ${service}`).digest('hex'),
    name: `/${PROJECT}_${service}_1`,
    imageId: imageIdOf(service),
    configImage: changes.configImage ?? `${image?.image}@${image?.digest}`,
    service,
    oneOff: 'False',
    state: {
      Status: changes.status ?? 'running',
      Running: running,
      ExitCode: changes.exitCode ?? 0,
      Error: '',
      StartedAt: '2026-11-22T10:00:00.000000000Z',
      FinishedAt: '0001-01-01T00:00:00Z',
      Health: {
        Status: changes.health ?? 'healthy',
        FailingStreak: changes.health === 'unhealthy' ? 3 : 0,
        Log: [{ Start: '2026-11-22T10:00:03.1Z', End: '2026-11-22T10:00:03.2Z', ExitCode: changes.health === 'unhealthy' ? 1 : 0, Output: changes.health === 'unhealthy' ? 'wget: server returned error: HTTP/1.1 500' : '' }],
      },
    },
    ports,
  });
}

function imageIdOf(service: string): string {
  return `sha256:${createHash('sha256').update(`image ${service}`).digest('hex')}`;
}

function healthySnapshot(): Omit<StackSnapshot, 'durationMs'> {
  const containers = Object.keys(manifest.images).map((s) => parseContainerLine(inspectLine(s)));
  const images = new Map(
    Object.entries(manifest.images).map(([s, i]) => [imageIdOf(s), { id: imageIdOf(s), repoDigests: [`${i.image}@${i.digest}`] }]),
  );
  return { containers, images, policyFile: { state: 'present', path: POLICY_PATH, sha256: manifest.policy.sha256 }, currentTarget: `releases/${manifest.releaseId}` };
}

function okResponse(service: string, body?: Record<string, string>): HealthResponse {
  const document = service === 'nats' ? { status: 'ok' } : { status: 'ok', service, policyHash: manifest.policy.sha256, mode: 'DISARMED' };
  return { statusCode: 200, body: JSON.stringify(body ?? document), durationMs: 3 };
}

function probesFor(snapshot: Omit<StackSnapshot, 'durationMs'>, responses: Record<string, HealthResponse> = {}): Map<string, EndpointProbe> {
  const probes = new Map<string, EndpointProbe>();
  for (const container of snapshot.containers) {
    const spec = container.service === undefined ? undefined : endpointSpecs[container.service];
    if (spec === undefined || container.service === undefined || container.status !== 'running') continue;
    const location = locateEndpoint(container, spec);
    probes.set(container.service, 'problem' in location ? { location } : { location, response: responses[container.service] ?? okResponse(container.service) });
  }
  return probes;
}

function evaluate(snapshot: Omit<StackSnapshot, 'durationMs'>, responses: Record<string, HealthResponse> = {}) {
  return evaluateStack({
    manifest,
    project: PROJECT,
    snapshot,
    endpoints: probesFor(snapshot, responses),
    endpointSpecs,
    policyReporters: stackProfileOf(manifest).policyReporters,
  });
}

function withContainer(snapshot: Omit<StackSnapshot, 'durationMs'>, service: string, line: string): Omit<StackSnapshot, 'durationMs'> {
  return { ...snapshot, containers: snapshot.containers.map((c) => (c.service === service ? parseContainerLine(line) : c)) };
}

function keys(failures: readonly { service: string; check: string }[]): string[] {
  return failures.map((f) => `${f.service} ${f.check}`).sort();
}

function asReport(evaluation: ReturnType<typeof evaluate>): VerifyReport {
  return {
    healthy: evaluation.failures.length === 0,
    project: PROJECT,
    appDir: '/opt/titan',
    releaseId: manifest.releaseId,
    currentTarget: `releases/${manifest.releaseId}`,
    ...evaluation,
    startedAt: '2026-11-22T10:00:00.000Z',
    durationMs: 1200,
    timeoutMs: 60_000,
    polls: 1,
  };
}

describe('evaluateStack', () => {
  it('passes the stack the manifest describes', () => {
    const result = evaluate(healthySnapshot());
    expect(result.failures).toEqual([]);
    expect(result.services).toHaveLength(17);
    expect(result.policy.agree).toBe(true);
  });

  it('names a service whose healthcheck fails, with Docker\'s last healthcheck output', () => {
    const result = evaluate(withContainer(healthySnapshot(), 'redis', inspectLine('redis', { health: 'unhealthy' })));
    expect(keys(result.failures)).toEqual(['redis healthy']);
    expect(result.failures[0]?.detail).toBe('titan_redis_1 is unhealthy (3 failed checks in a row)');
    expect(result.failures[0]?.lastHealth).toBe('titan_redis_1 healthcheck at 2026-11-22T10:00:03Z: exit 1, wget: server returned error: HTTP/1.1 500');
  });

  it('keeps polling material: a starting container is not healthy yet', () => {
    const result = evaluate(withContainer(healthySnapshot(), 'postgres', inspectLine('postgres', { health: 'starting' })));
    expect(keys(result.failures)).toEqual(['postgres healthy']);
  });

  it('names a missing service', () => {
    const snapshot = healthySnapshot();
    const result = evaluate({ ...snapshot, containers: snapshot.containers.filter((c) => c.service !== 'titan-opsd') });
    expect(keys(result.failures)).toEqual(['titan-opsd running']);
    expect(result.failures[0]?.detail).toBe('no container of titan-opsd in project titan');
  });

  it('names the endpoint of a service that answers HTTP 500, is not JSON, or answers as another service', () => {
    const result = evaluate(healthySnapshot(), {
      'titan-console': { statusCode: 500, body: 'Internal Server Error', durationMs: 2 },
      'titan-hunter': { statusCode: 200, body: '<html>ok</html>', durationMs: 2 },
      'titan-scavenger': okResponse('titan-scavenger', { status: 'ok', service: 'titan-hunter', policyHash: manifest.policy.sha256 }),
      'titan-opsd': { problem: 'no answer within 5000 ms', durationMs: 5000 },
    });
    expect(keys(result.failures)).toEqual(['titan-console endpoint', 'titan-hunter endpoint', 'titan-opsd endpoint', 'titan-scavenger endpoint']);
    const cells = Object.fromEntries(result.services.map((s) => [s.service, s.endpoint.detail]));
    expect(cells['titan-console']).toBe('HTTP 500');
    expect(cells['titan-hunter']).toBe('not JSON');
    expect(cells['titan-scavenger']).toBe('answers as titan-hunter');
    expect(cells['titan-opsd']).toBe('no answer');
  });

  it('fails policy parity when titan-brain does not report a policy hash', () => {
    const result = evaluate(healthySnapshot(), { 'titan-brain': okResponse('titan-brain', { status: 'ok', service: 'titan-brain' }) });
    expect(keys(result.failures)).toEqual(['titan-brain policy']);
    expect(result.failures[0]?.detail).toContain('did not report a policyHash');
  });

  it('fails policy parity when the policy file is missing on the host', () => {
    const result = evaluate({ ...healthySnapshot(), policyFile: { state: 'missing', path: POLICY_PATH } });
    expect(keys(result.failures)).toEqual(['host policy']);
    expect(result.failures[0]?.detail).toBe(`${POLICY_PATH} is missing; the manifest signed config/policy.json with sha256 ${manifest.policy.sha256}`);
  });

  it('names a container whose image id was not pulled by the signed digest', () => {
    const snapshot = healthySnapshot();
    const images = new Map(snapshot.images);
    images.set(imageIdOf('grafana'), { id: imageIdOf('grafana'), repoDigests: ['127.0.0.1:5000/titan/grafana@sha256:' + '0'.repeat(64)] });
    const result = evaluate({ ...snapshot, images });
    expect(keys(result.failures)).toEqual(['grafana digest']);
    expect(result.services.find((s) => s.service === 'grafana')?.digest).toEqual({ outcome: 'fail', detail: 'image differs' });
  });

  it('fails an endpoint that is not published on the host loopback, saying how to publish it', () => {
    const line = inspectLine('titan-brain', { ports: { '3100/tcp': [{ HostIp: '203.0.113.7', HostPort: '3100' }] } });
    const result = evaluate(withContainer(healthySnapshot(), 'titan-brain', line));
    expect(keys(result.failures)).toEqual(['titan-brain endpoint', 'titan-brain policy']);
    expect(result.failures.find((f) => f.check === 'endpoint')?.detail).toBe('container port 3100/tcp is published on 203.0.113.7:3100 only, not on the host\'s loopback');
  });
});

describe('locateEndpoint', () => {
  const spec = { containerPort: 3100, path: '/health', checkServiceName: true };
  const container = (ports: unknown): ContainerState => parseContainerLine(inspectLine('titan-brain', { ports }));

  it('takes the 127.0.0.1 binding, then a wildcard one (reached on the loopback), then ::1', () => {
    expect(locateEndpoint(container({ '3100/tcp': [{ HostIp: '0.0.0.0', HostPort: '9' }, { HostIp: '127.0.0.1', HostPort: '23100' }] }), spec)).toEqual({
      target: { host: '127.0.0.1', port: 23100, path: '/health' },
    });
    expect(locateEndpoint(container({ '3100/tcp': [{ HostIp: '0.0.0.0', HostPort: '3100' }] }), spec)).toEqual({ target: { host: '127.0.0.1', port: 3100, path: '/health' } });
    expect(locateEndpoint(container({ '3100/tcp': [{ HostIp: '::1', HostPort: '3100' }] }), spec)).toEqual({ target: { host: '::1', port: 3100, path: '/health' } });
  });

  it('says how to publish a port that is not published', () => {
    const location = locateEndpoint(container({ '3100/tcp': null }), spec);
    expect(location).toEqual({ problem: expect.stringContaining('ports: "127.0.0.1:<host port>:3100"') as unknown });
  });
});

describe('parseStackProbe', () => {
  it('reads what the probe printed', () => {
    const line = inspectLine('traefik');
    const snapshot = parseStackProbe(
      [`container ${line}`, `image {"id":"${imageIdOf('traefik')}","repoDigests":null}`, `policy ${'a'.repeat(64)}`, 'current releases/r1', 'end', ''].join('\n'),
      POLICY_PATH,
    );
    expect(snapshot.containers.map((c) => c.name)).toEqual(['titan_traefik_1']);
    expect(snapshot.images.get(imageIdOf('traefik'))?.repoDigests).toEqual([]);
    expect(snapshot.policyFile).toEqual({ state: 'present', path: POLICY_PATH, sha256: 'a'.repeat(64) });
    expect(snapshot.currentTarget).toBe('releases/r1');
  });

  it('refuses an output that was cut short', () => {
    expect(() => parseStackProbe(`policy-missing\ncurrent \n`, POLICY_PATH)).toThrow('the probe output ended early (no end marker)');
  });

  it('refuses a line it does not know', () => {
    expect(() => parseStackProbe('warning: something\nend\n', POLICY_PATH)).toThrow('the probe printed an unexpected line: warning: something');
  });
});

describe('renderVerifySummary', () => {
  it('escapes what containers and services say, so nothing breaks the table or the page', () => {
    const hostile = 'a|b <script>`x`</script> ```';
    const result = evaluate(healthySnapshot(), { 'titan-opsd': { statusCode: 200, body: JSON.stringify({ status: hostile }), durationMs: 2 } });
    const summary = renderVerifySummary(asReport(result));
    expect(summary).toContain('| **titan-opsd** | ✅ running | ✅ healthy | ✅ sha256:');
    expect(summary).toContain('❌ status "a\\|b &lt;script&gt;\\`x\\`&lt;/script&gt; \\`\\`\\`" |');
    // The raw body appears only inside a fenced block that it cannot close (~~~~, since it holds ```).
    expect(summary).toContain('<details><summary>titan-opsd · endpoint: last health output</summary>\n\n~~~~\n');
    expect(summary.replace(/\n~~~~\n[\s\S]*?\n~~~~\n/g, '')).not.toContain('<script>');
  });

  it('says when current points at another release than the one checked', () => {
    const summary = renderVerifySummary({ ...asReport(evaluate(healthySnapshot())), currentTarget: 'releases/older' });
    expect(summary).toContain(`⚠️ \`current\` points at \`releases/older\`, not at release \`${manifest.releaseId}\``);
  });
});
