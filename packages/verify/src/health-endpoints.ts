/**
 * Which services answer a health endpoint, and where inside their container. The verifier finds the
 * port the host publishes for that container port (NetworkSettings.Ports, loopback binding) and GETs
 * the path through the SSH connection, as the host itself sees it. A service not listed here is
 * judged by its Docker healthcheck alone.
 */
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

function titanService(containerPort: number): HealthEndpointSpec {
  return { containerPort, path: '/health', checkServiceName: true };
}

/**
 * The Titan stack's health endpoints (examples/titan/docker-compose.prod.yml publishes each on
 * 127.0.0.1). Every Titan service answers `{"status","service","policyHash","mode"}` on /health;
 * nats answers `{"status":"ok"}` on its monitoring port's /healthz.
 */
export const TITAN_HEALTH_ENDPOINTS: Readonly<Record<string, HealthEndpointSpec>> = {
  'titan-brain': titanService(3100),
  'titan-execution': titanService(3002),
  'titan-console': titanService(8080),
  'titan-console-api': titanService(3000),
  'titan-opsd': titanService(3010),
  'titan-scavenger': titanService(8081),
  'titan-hunter': titanService(8083),
  'titan-sentinel': titanService(8084),
  'titan-ai-quant': titanService(8082),
  'titan-powerlaw-lab': titanService(8085),
  nats: { containerPort: 8222, path: '/healthz', checkServiceName: false },
};

/**
 * The services whose /health `policyHash` must equal the manifest's policy hash. Each must be in the
 * release and answer; any other service that reports a policyHash must agree too.
 */
export const TITAN_POLICY_REPORTERS: readonly string[] = ['titan-brain', 'titan-execution'];
