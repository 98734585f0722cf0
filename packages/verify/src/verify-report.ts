/**
 * What a verification found: one row per service of the manifest with four checks (running,
 * healthy, digest, endpoint), the containers of the project that the manifest does not account
 * for, policy hash parity, and the failures, each naming the service and the check. This is the
 * JSON report the action writes and the data the job summary is rendered from.
 */

/** `pass` ✅, `fail` ❌, `none` – (the check does not apply, e.g. a service without a healthcheck). */
export type CheckOutcome = 'pass' | 'fail' | 'none';

export interface CheckCell {
  readonly outcome: CheckOutcome;
  /** A few words for the table cell: `healthy`, `exited (137)`, `runs …:latest`, `no healthcheck`. */
  readonly detail: string;
}

export type CheckName = 'running' | 'healthy' | 'digest' | 'endpoint';

export interface ContainerSummary {
  readonly name: string;
  /** First 12 hex digits of the container id. */
  readonly id: string;
  readonly status: string;
  /** Docker's health status, when the container has a healthcheck. */
  readonly health?: string;
  /** The reference the container was created from (Config.Image). */
  readonly image: string;
}

export interface EndpointSummary {
  /** `127.0.0.1:3100/health`: the address as the host sees it, reached through the SSH connection. */
  readonly url: string;
  readonly statusCode?: number;
  /** `status` of the health document. */
  readonly status?: string;
  readonly mode?: string;
  readonly policyHash?: string;
  readonly durationMs: number;
}

export interface ServiceCheck {
  readonly service: string;
  /** What the manifest signed: `repo@sha256:...`. */
  readonly expectedImage: string;
  readonly containers: readonly ContainerSummary[];
  readonly running: CheckCell;
  readonly healthy: CheckCell;
  readonly digest: CheckCell;
  readonly endpoint: CheckCell;
  readonly endpointResult?: EndpointSummary;
}

/** A container of the project that the manifest does not account for. */
export interface ExtraContainer {
  readonly name: string;
  readonly id: string;
  /** Its compose service label, when it has one. */
  readonly service?: string;
  readonly oneOff: boolean;
  readonly status: string;
  readonly image: string;
}

export interface PolicySource {
  /** `manifest`, `host file` or the service that reported it. */
  readonly source: string;
  readonly sha256?: string;
  readonly agrees: boolean;
  readonly detail: string;
}

export interface PolicyParity {
  /** The policy file, relative to the release folder. */
  readonly path: string;
  /** What the manifest signed. */
  readonly sha256: string;
  readonly sources: readonly PolicySource[];
  readonly agree: boolean;
}

export interface VerifyFailure {
  /** The service at fault, or `host` for what is not one service's (the policy file, the probe). */
  readonly service: string;
  /** running, healthy, digest, endpoint, extra, policy, probe, secret-file or secret-exposure. */
  readonly check: string;
  readonly detail: string;
  /** Docker's last healthcheck run and/or the endpoint's body, truncated. */
  readonly lastHealth?: string;
}

export interface VerifyReport {
  readonly healthy: boolean;
  readonly project: string;
  readonly appDir: string;
  readonly releaseId: string;
  /** Where `<appDir>/current` pointed during the last poll. */
  readonly currentTarget: string;
  readonly services: readonly ServiceCheck[];
  readonly extraContainers: readonly ExtraContainer[];
  readonly policy: PolicyParity;
  readonly failures: readonly VerifyFailure[];
  /** ISO 8601. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly timeoutMs: number;
  /** How many times the host was polled. */
  readonly polls: number;
}
