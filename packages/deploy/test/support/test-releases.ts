/**
 * Releases for deploy tests, made the way a workflow makes them: examples/titan (or a copy changed on
 * purpose) signed by the release package with the test host's release key and the digests the test
 * host pushed; "a release changing one service" pins one service to a variant image built from the
 * example's own build context and pushed to the test host's registry.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey, type ReleaseSigningKey } from '@titan/release/release-key';
import { signRelease, type SignedRelease } from '@titan/release/sign-release';
import { readReleaseKey } from '@titan/test-host/test-host';
import { testHost } from './host-fixture.js';

export const releaseKey: ReleaseSigningKey = parseReleaseKey(readReleaseKey(testHost));

/** service -> sha256:... as the test host pushed them. */
export function hostDigests(): Map<string, string> {
  return new Map(Object.entries(testHost.images).map(([service, ref]) => [service, ref.slice(ref.indexOf('@') + 1)]));
}

export interface TestReleaseOptions {
  /** The release source (default examples/titan). */
  source?: string;
  /** service -> sha256:... overriding the test host's. */
  digests?: Record<string, string>;
  signingKey?: ReleaseSigningKey;
  /** The manifest's keyId (default: the signing key's own, the name of its file in trust/). */
  keyId?: string;
  /** Default: now. */
  createdAt?: Date;
  output?: string;
}

/** A signed bundle with a fresh git sha (so a fresh release id). */
export async function signTestRelease(options: TestReleaseOptions = {}): Promise<SignedRelease> {
  const digests = hostDigests();
  for (const [service, digest] of Object.entries(options.digests ?? {})) digests.set(service, digest);
  return signRelease(
    {
      source: options.source ?? testHost.example,
      selection: { digests },
      signingKey: options.signingKey ?? releaseKey,
      ...(options.keyId !== undefined ? { keyId: options.keyId } : {}),
      ...(options.createdAt !== undefined ? { createdAt: options.createdAt } : {}),
      git: { sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' },
      runUrl: 'https://github.com/titan/titan/actions/runs/1',
      output: options.output ?? mkdtempSync(join(tmpdir(), 'titan-deploy-bundle-')),
    },
    silentLogger,
  );
}

/** A copy of examples/titan to change on purpose. */
export function copyExample(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'titan-deploy-source-')), 'titan');
  cpSync(testHost.example, dir, { recursive: true });
  return dir;
}

const TITAN_SERVICE_IMAGES: Record<string, { image: string }> = {
  'titan-hunter': { image: 'titan-phase2-hunter' },
  'titan-scavenger': { image: 'titan-phase1-scavenger' },
  'titan-brain': { image: 'titan-brain' },
};

/**
 * Builds and pushes a variant of one Titan service's image (the example's titan-service context,
 * with a label that makes it a different image); returns its digest `sha256:...`.
 */
export function buildVariant(service: string, variant: string, buildArgs: Record<string, string> = {}): string {
  const spec = TITAN_SERVICE_IMAGES[service];
  if (spec === undefined) throw new Error(`no variant recipe for ${service}`);
  const ref = `${testHost.imagePrefix}/${spec.image}:variant-${variant}`;
  const args = ['build', '-q', '-t', ref, '--label', `titan.variant=${variant}`, '--build-arg', `SERVICE=${service}`];
  for (const [key, value] of Object.entries(buildArgs)) args.push('--build-arg', `${key}=${value}`);
  args.push(join(testHost.example, 'images', 'titan-service'));
  execFileSync('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const pushed = execFileSync('docker', ['push', ref], { encoding: 'utf8' });
  const match = /digest: (sha256:[0-9a-f]{64})/.exec(pushed);
  if (match?.[1] === undefined) throw new Error(`no digest in the output of docker push ${ref}:\n${pushed}`);
  return match[1];
}
