/**
 * One container judged against the signed manifest (pure): created from the signed
 * `repo@sha256:...` and running an image whose RepoDigests hold it; the containers of the project
 * that no service of the manifest accounts for; and how a container's state reads in the report.
 */
import type { ReleaseManifest } from '@titan/release/manifest';
import type { ContainerState, ImageState } from './container-state.js';
import { excerpt } from './health-document.js';
import type { ContainerSummary, ExtraContainer } from './verify-report.js';

export function digestProblem(
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

export function findExtraContainers(manifest: ReleaseManifest, containers: readonly ContainerState[]): ExtraContainer[] {
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

export function describeState(container: ContainerState): string {
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

export function healthLogLine(container: ContainerState): string | undefined {
  const last = container.health?.last;
  if (last === undefined) return undefined;
  const output = excerpt(last.output);
  return `${container.name} healthcheck${last.end ? ` at ${last.end.replace(/\.\d+Z$/, 'Z')}` : ''}: exit ${last.exitCode}${output ? `, ${output}` : ', no output'}`;
}

export function containerSummary(container: ContainerState): ContainerSummary {
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
