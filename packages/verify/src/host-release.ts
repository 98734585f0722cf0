/**
 * The release a host says it runs: `<appDir>/current/manifest.json` and `manifest.sig`, read in ONE
 * remote command that also re-checks the whole release folder on the host with the release
 * package's host script (signature against `<appDir>/trust`, every listed file's size and sha256,
 * nothing unlisted). The check is cheap (a few dozen small files) and it is the invariant the host
 * keeps: `current` points at a release that verified against trust/. When the caller gives public
 * keys, the signature is checked on the runner too, against those keys.
 */
import { HOST_VERIFY_SCRIPT } from '@titan/release/host-verify-script';
import { parseManifest, type ReleaseManifest } from '@titan/release/manifest';
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

// $1 app dir; standard input: the host verify script (fed to `sh -s`, so it stays off the command
// line and out of the log). Exit EXIT_NO_CURRENT_RELEASE: there is no current release.
export const READ_HOST_RELEASE_SCRIPT = `set -eu
app_dir=$1
current=$app_dir/current
if [ ! -e "$current/manifest.json" ]; then
  printf 'read-release: %s/manifest.json does not exist: no release is current on this host\\n' "$current" >&2
  exit ${EXIT_NO_CURRENT_RELEASE}
fi
target=$(readlink -- "$current" 2>/dev/null) || target=
printf 'current %s\\n' "$target"
if verdict=$(sh -s -- "$current" "$app_dir/trust" 2>&1); then
  printf 'host-verify ok %s\\n' "$(printf '%s\\n' "$verdict" | tail -n 1)"
else
  printf 'host-verify failed %s\\n' "$(printf '%s\\n' "$verdict" | tail -n 1)"
fi
printf 'manifest %s\\n' "$(base64 -w0 < "$current/manifest.json")"
printf 'signature %s\\n' "$(base64 -w0 < "$current/manifest.sig")"
printf 'end\\n'
`;

export async function readHostRelease(connection: SshConnection, request: HostReleaseRequest): Promise<HostRelease> {
  let stdout: string;
  try {
    const result = await connection.runScript(READ_HOST_RELEASE_SCRIPT, [request.appDir], {
      name: 'titan-read-release',
      stdin: HOST_VERIFY_SCRIPT,
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
  const verdict = fields.get('host-verify') ?? '';
  if (!verdict.startsWith('ok ')) {
    throw new HostReleaseError(
      `The current release on ${connection.host} (${request.appDir}/current -> ${fields.get('current') || '?'}) does not verify on the host against ${request.appDir}/trust: ${verdict.replace(/^failed /, '') || 'no verdict'}. ` +
        'Nothing started from it can be trusted: roll back to a verified release.',
    );
  }
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
  return {
    manifest,
    manifestBytes,
    currentTarget: fields.get('current') ?? '',
    hostVerdict: verdict.replace(/^ok /, ''),
    runnerKeyIndex,
  };
}
