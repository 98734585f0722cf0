/**
 * Where a service's health endpoint is, as the host sees it: the loopback address and host port
 * that Docker publishes for the container port of its HealthEndpointSpec. Never a container IP.
 */
import type { ContainerState } from './container-state.js';
import type { HealthEndpointSpec } from './health-endpoints.js';
import type { HealthTarget } from './health-request.js';

export type EndpointLocation = { readonly target: HealthTarget } | { readonly problem: string };

const LOOPBACK_V4 = '127.0.0.1';

export function locateEndpoint(container: ContainerState, spec: HealthEndpointSpec): EndpointLocation {
  const bindings = container.ports.filter((p) => p.containerPort === spec.containerPort && p.protocol === 'tcp');
  if (bindings.length === 0) {
    return {
      problem: `container port ${spec.containerPort}/tcp is not published on the host; publish it on 127.0.0.1 (ports: "127.0.0.1:<host port>:${spec.containerPort}") so the health endpoint can be reached through the SSH connection`,
    };
  }
  // A loopback binding first; a wildcard binding is reachable on the host's loopback too.
  const preferred =
    bindings.find((b) => b.hostIp === LOOPBACK_V4) ??
    bindings.find((b) => b.hostIp === '0.0.0.0' || b.hostIp === '') ??
    bindings.find((b) => b.hostIp === '::1' || b.hostIp === '::');
  if (preferred === undefined) {
    const where = bindings.map((b) => `${b.hostIp}:${b.hostPort}`).join(', ');
    return { problem: `container port ${spec.containerPort}/tcp is published on ${where} only, not on the host's loopback` };
  }
  const host = preferred.hostIp === '::1' || preferred.hostIp === '::' ? '::1' : LOOPBACK_V4;
  return { target: { host, port: preferred.hostPort, path: spec.path } };
}

export function endpointUrl(target: HealthTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${host}:${target.port}${target.path}`;
}
