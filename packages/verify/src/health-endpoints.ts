/**
 * Which services answer a health endpoint, and where inside their container: the stack profile's
 * `health` (signed into the manifest). The verifier finds the port the host publishes for that
 * container port (NetworkSettings.Ports, loopback binding) and GETs the path through the SSH
 * connection, as the host itself sees it. A service without one is judged by its Docker healthcheck.
 */
import type { StackProfile } from '@titan/release/stack-profile';

export interface HealthEndpointSpec {
  /** The port the service listens on inside its container (the `<port>/tcp` key of NetworkSettings.Ports). */
  readonly containerPort: number;
  /** Path of the health document, e.g. `/health`. */
  readonly path: string;
  /**
   * The body must be JSON with `"status": "ok"`. When `checkServiceName` is true it must also name
   * the service it was asked about (catches a port wired to the wrong container).
   */
  readonly checkServiceName: boolean;
}

/** The profile's health endpoints by service. */
export function healthEndpointsOf(profile: StackProfile): Readonly<Record<string, HealthEndpointSpec>> {
  return Object.fromEntries(
    profile.health.map((h) => [h.service, { containerPort: h.port, path: h.path, checkServiceName: h.body === 'status-and-service' }]),
  );
}
