/**
 * What a service is to the port policy, from its name or its image's name: a store or internal tool
 * that publishes nothing on the host (postgres, redis, prometheus, grafana), the message bus (nats:
 * loopback or the VPC only), the edge proxy (traefik: the one public entry), or any other service
 * (loopback only).
 */
export type ServiceRole = 'internal' | 'nats' | 'edge' | 'service';

export const INTERNAL_SERVICES: readonly string[] = ['postgres', 'redis', 'prometheus', 'grafana'];
export const EDGE_SERVICES: readonly string[] = ['traefik'];

export function serviceRole(name: string, image: string | undefined): ServiceRole {
  const names = [name, imageBaseName(image)].filter((n): n is string => n !== undefined);
  if (names.some((n) => INTERNAL_SERVICES.includes(n))) return 'internal';
  if (names.includes('nats')) return 'nats';
  if (names.some((n) => EDGE_SERVICES.includes(n))) return 'edge';
  return 'service';
}

/** `registry:5000/titan/postgres:16@sha256:...` -> `postgres`. */
export function imageBaseName(image: string | undefined): string | undefined {
  if (image === undefined || image === '') return undefined;
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const last = withoutDigest.slice(lastSlash + 1);
  return last.split(':')[0];
}

/** Whether an image reference is pinned by digest (`...@sha256:<64 hex>`). */
export function isDigestPinned(image: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(image);
}
