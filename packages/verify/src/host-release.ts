/**
 * The release a host says it runs: where `<appDir>/current` points, its `manifest.json` and
 * `manifest.sig`, read in one remote command; then the release folder is checked again on the host
 * the one way every run re-verifies a release there (packages/host verifyRelease, as an install
 * that reuses a folder and a rollback's target check do: the release package's host script, the
 * signature against `<appDir>/trust`, every listed file's size and sha256, nothing unlisted). The
 * check is cheap (a few dozen small files) and it is the invariant the host keeps: `current` points
 * at a release that verified against trust/. When the caller gives public keys, the signature is
 * checked on the runner too, against those keys.
 */
import { HostLayout } from '@titan/host/host-layout';
import { HostVerificationError, verifyRelease } from '@titan/host/release-install';
import { parseManifest, type ReleaseManifest } from '@titan/release/manifest';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import { findSigningKey } from '@titan/release/manifest-signature';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';
import { EXIT_NO_CURRENT_RELEASE } from '@titan/ssh/exit-status';

export class HostReleaseError extends Error {
  override readonly name = 'HostReleaseError';
}

export interface HostRelease {
  readonly manifest: ReleaseManifest;
  readonly manifestBytes: Buffer;
  /** Where `<appDir>/current` points. */
  readonly currentTarget: string;
  /** The host script's verdict: `verified <release id> <key file>`. */
  readonly hostVerdict: string;
  /** Index in the given public keys of the key that signed it; undefined when none were given. */
  readonly runnerKeyIndex: number | undefined;
}

export interface HostReleaseRequest {
  readonly appDir: string;
  /** Raw 32-byte Ed25519 public keys to check the signature with on the runner as well. */
  readonly publicKeys?: readonly Uint8Array[];
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

// $1 app dir. Exit EXIT_NO_CURRENT_RELEASE: there is no current release.
export const READ_HOST_RELEASE_SCRIPT = `set -eu
app_dir=$1
current=$app_dir/current
if [ ! -e "$current/manifest.json" ]; then
  printf 'read-release: %s/manifest.json does not exist: no release is current on this host\\n' "$current" >&2
  exit ${EXIT_NO_CURRENT_RELEASE}
fi
target=$(readlink -- "$current" 2>/dev/null) || target=
printf 'current %s\\n' "$target"
printf 'manifest %s\\n' "$(base64 -w0 < "$current/manifest.json")"
printf 'signature %s\\n' "$(base64 -w0 < "$current/manifest.sig")"
printf 'end\\n'
`;

export async function readHostRelease(connection: SshConnection, request: HostReleaseRequest): Promise<HostRelease> {
  let stdout: string;
  try {
    const result = await connection.runScript(READ_HOST_RELEASE_SCRIPT, [request.appDir], {
      name: 'titan-read-release',
      logOutput: 'none',
      timeoutMs: request.timeoutMs ?? 60_000,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    stdout = result.stdout;
  } catch (error: unknown) {
    if (error instanceof CommandFailedError && error.exitCode === EXIT_NO_CURRENT_RELEASE) {
      throw new HostReleaseError(
        `${request.appDir}/current/manifest.json does not exist on ${connection.host}: no release is current there. Deploy one first, or check app-dir.`,
      );
    }
    throw error;
  }
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (line !== '') fields.set(space < 0 ? line : line.slice(0, space), space < 0 ? '' : line.slice(space + 1));
  }
  if (!fields.has('end')) throw new HostReleaseError(`reading the current release on ${connection.host} ended early; its output was incomplete`);
  const target = fields.get('current') ?? '';
  const hostVerdict = await verifyCurrent(connection, request.appDir, target);
  const manifestBytes = Buffer.from(fields.get('manifest') ?? '', 'base64');
  const signature = Buffer.from(fields.get('signature') ?? '', 'base64');
  let runnerKeyIndex: number | undefined;
  if (request.publicKeys !== undefined && request.publicKeys.length > 0) {
    runnerKeyIndex = findSigningKey(manifestBytes, signature, request.publicKeys);
    if (runnerKeyIndex < 0) {
      throw new HostReleaseError(
        `The current release's manifest.sig on ${connection.host} is not a signature of its manifest.json by the given public key: ` +
          'the host trusts a key this workflow does not. Check public-key against the host\'s trust/ folder.',
      );
    }
  }
  let manifest: ReleaseManifest;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (error: unknown) {
    throw new HostReleaseError(`The current release's manifest.json on ${connection.host} is invalid: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!hostVerdict.startsWith(`verified ${manifest.releaseId} `)) {
    throw new HostReleaseError(
      `The manifest read from ${request.appDir}/current on ${connection.host} is release ${manifest.releaseId}, but the host verified ${target} (${hostVerdict}): current changed while it was read. Verify again.`,
    );
  }
  return { manifest, manifestBytes, currentTarget: target, hostVerdict, runnerKeyIndex };
}

/** The folder `current` points at (`releases/<id>`), verified again on the host; its verdict. */
async function verifyCurrent(connection: SshConnection, appDir: string, target: string): Promise<string> {
  const releaseId = target.startsWith('releases/') ? target.slice('releases/'.length) : '';
  const refusal = (reason: string): string =>
    `The current release on ${connection.host} (${appDir}/current -> ${target || '?'}) does not verify on the host against ${appDir}/trust: ${reason}. ` +
    'Nothing started from it can be trusted: roll back to a verified release.';
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new HostReleaseError(refusal('current is not a link to a release folder releases/<id>'));
  try {
    return (await verifyRelease(connection, new HostLayout(appDir), releaseId, { failure: refusal })).verdict;
  } catch (error: unknown) {
    if (error instanceof HostVerificationError) throw new HostReleaseError(error.message, { cause: error });
    throw error;
  }
}
