/**
 * Whether the swarm can run a release exactly as it was signed, decided on the runner from the
 * verified bundle before anything changes on the host. `docker stack deploy` quietly drops or
 * changes what a swarm cannot honour; the swarm target refuses such a release instead (fail closed):
 *
 *  - a port published on a host IP (`"127.0.0.1:8083:8083"`, `host_ip:`): the swarm ignores the
 *    IP and publishes the port through its ingress mesh on EVERY interface of every node: a stack
 *    that keeps its ports on the loopback would be open to the world;
 *  - `network_mode` (host, a container, none): services join overlay networks only;
 *  - database migrations: the swarm target has no one-off task to run them in, one transaction
 *    each, with their history read back, as a Compose deploy does; a release carrying any is
 *    refused rather than started against a database that lacks them.
 *  - a release without the digest override, or a service without a pinned image.
 */
import { pinnedImageReference } from '@titan/release/image-reference';
import type { LocalBundle } from '@titan/release/local-bundle';
import { DIGEST_OVERRIDE_FILE } from '@titan/release/manifest';

export class SwarmRefusedError extends Error {
  override readonly name = 'SwarmRefusedError';
  readonly problems: readonly string[];

  constructor(releaseId: string, problems: readonly string[]) {
    super(
      `Release ${releaseId} cannot run on the swarm as it was signed; nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Sign a release for the swarm target (no host-IP ports: publish nothing and verify through the tasks, or publish on all interfaces deliberately), or deploy with target: compose.',
    );
    this.problems = problems;
  }
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every reason the swarm cannot honour the release (none: it can). */
export function swarmDefinitionProblems(bundle: LocalBundle): string[] {
  const { manifest, compose } = bundle;
  const problems: string[] = [];
  if (manifest.compose[manifest.compose.length - 1] !== DIGEST_OVERRIDE_FILE) problems.push(`the release's compose files do not end with the digest override ${DIGEST_OVERRIDE_FILE}`);
  for (const [service, view] of [...compose.services].sort(([a], [b]) => a.localeCompare(b))) {
    if (manifest.images[service] === undefined) problems.push(`${service}: the manifest pins no image for it`);
    const sections = (JSON.parse(view.definition) as { file: string; section: unknown }[]).filter((e) => isMapping(e.section));
    for (const { file, section } of sections as { file: string; section: Mapping }[]) {
      for (const port of portsOf(section['ports'])) problems.push(`${service} (${file}): port ${port}`);
      if (section['network_mode'] !== undefined) problems.push(`${service} (${file}): network_mode ${JSON.stringify(section['network_mode'])} (swarm services join overlay networks only)`);
    }
  }
  const migrations = manifest.files.filter((f) => f.path.startsWith('migrations/') && f.path.endsWith('.sql'));
  if (migrations.length > 0) {
    problems.push(`it carries ${migrations.length} database migration(s) (${migrations.map((f) => f.path).join(', ')}): the swarm target does not run migrations`);
  }
  return problems;
}

/** Throws SwarmRefusedError unless the swarm can run the release as signed. */
export function requireSwarmDefinition(bundle: LocalBundle): void {
  const problems = swarmDefinitionProblems(bundle);
  if (problems.length > 0) throw new SwarmRefusedError(bundle.manifest.releaseId, problems);
}

/** The ports published on a host IP, each in words. */
function portsOf(ports: unknown): string[] {
  if (!Array.isArray(ports)) return [];
  const out: string[] = [];
  for (const port of ports) {
    if (typeof port === 'string' || typeof port === 'number') {
      const text = String(port);
      const ip = hostIpOf(text);
      if (ip !== undefined) out.push(`"${text}" is published on host IP ${ip}, which the swarm ignores (its ingress mesh would publish it on every interface)`);
    } else if (isMapping(port) && typeof port['host_ip'] === 'string' && port['host_ip'] !== '') {
      out.push(`${JSON.stringify(port['published'] ?? '?')}:${JSON.stringify(port['target'] ?? '?')} is published on host_ip ${port['host_ip']}, which the swarm ignores (its ingress mesh would publish it on every interface)`);
    }
  }
  return out;
}

/** The host IP of a short port syntax (`IP:HOST:CONTAINER`, `[::1]:HOST:CONTAINER`), if it names one. */
export function hostIpOf(port: string): string | undefined {
  const bracketed = /^\[([^\]]+)\]:/.exec(port);
  if (bracketed !== null) return bracketed[1];
  const parts = port.split(':');
  return parts.length >= 3 ? parts.slice(0, parts.length - 2).join(':') : undefined;
}

/** Compose service -> the pinned reference the release runs it with. */
export function releaseImages(bundle: Pick<LocalBundle, 'manifest'>): Map<string, string> {
  return new Map(Object.entries(bundle.manifest.images).map(([service, image]) => [service, pinnedImageReference(image.image, image.digest)]));
}

/** The compose file the runner adds to a stack deploy: every service's containers labelled with the release id. */
export function releaseLabelFile(services: readonly string[], releaseId: string): string {
  return `services:\n${services.map((s) => `  ${JSON.stringify(s)}:\n    labels:\n      titan.release: ${JSON.stringify(releaseId)}\n`).join('')}`;
}

