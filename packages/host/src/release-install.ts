/**
 * Puts a release bundle on the host the only way a release may get there: uploaded (one tar stream)
 * into `releases/.<id>.partial-<random>`, made read-only for everyone (no write, setuid, setgid or
 * sticky bit survives), verified ON THE HOST by the release package's script (openssl against
 * `trust/` with the key the manifest names, sha256sum of every file), and only then renamed to
 * `releases/<id>`.
 * A bundle that fails is removed with its partial folder; nothing else is touched. A release folder
 * that is already there is verified again in place (verifyRelease, as a rollback checks the release
 * it returns to) and reused.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@titan/log/logger';
import { HOST_VERIFY_SCRIPT, HOST_VERIFY_SCRIPT_NAME } from '@titan/release/host-verify-script';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';
import type { HostLayout } from './host-layout.js';
import { EXIT_NOT_VERIFIED } from '@titan/ssh/exit-status';

/** The host refused the bundle: its own verification failed. */
export class HostVerificationError extends Error {
  override readonly name = 'HostVerificationError';
  /** The verify script's own reason (one line). */
  readonly reason: string;

  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

// read_only DIR: every file and folder under DIR (DIR too) without any write bit and without the
// setuid, setgid and sticky bits. Folders keep r-x, so the tree can still be read and, after
// \`chmod -R u+w\`, removed (retention does that).
const READ_ONLY_PART = `read_only() {
  chmod -R a-w,u-s,g-s,o-t -- "$1"
}
`;

export const INSTALL_RELEASE_SCRIPT_NAME = 'titan-install-release';

// $1 partial folder, $2 release folder, $3 trust folder, $4 release id; the verify script's text on
// stdin. Exit 3 with the verify script's reason on stderr when the bundle does not verify (the
// partial folder is removed).
export const INSTALL_RELEASE_SCRIPT = `set -eu
partial=$1
final=$2
trust=$3
id=$4
verify=$(cat)
# Read-only for everyone, before it is verified (so nobody changes it between the check and its
# use): no write bit, no setuid, setgid or sticky bit survives the upload, whatever the tar said.
${READ_ONLY_PART}read_only "$partial"
if out=$(sh -c "$verify" ${HOST_VERIFY_SCRIPT_NAME} "$partial" "$trust" "$id" 2>&1); then
  mv -T -- "$partial" "$final"
  printf '%s\\n' "$out"
else
  chmod -R u+w -- "$partial"
  rm -rf -- "$partial"
  printf '%s\\n' "$out" >&2
  exit ${EXIT_NOT_VERIFIED}
fi
`;

export const READ_ONLY_RELEASE_SCRIPT_NAME = 'titan-read-only-release';

// $1 release folder. Makes an installed release folder read-only (one installed before releases were).
export const READ_ONLY_RELEASE_SCRIPT = `set -eu
${READ_ONLY_PART}read_only "$1"
`;

export const VERIFY_RELEASE_SCRIPT_NAME = 'titan-verify-release';

// $1 release folder, $2 trust folder, $3 release id; the verify script's text on stdin. Exit 3 when
// it fails.
export const VERIFY_RELEASE_SCRIPT = `set -eu
verify=$(cat)
if out=$(sh -c "$verify" ${HOST_VERIFY_SCRIPT_NAME} "$1" "$2" "$3" 2>&1); then
  printf '%s\\n' "$out"
else
  printf '%s\\n' "$out" >&2
  exit ${EXIT_NOT_VERIFIED}
fi
`;

export interface VerifiedRelease {
  readonly releaseId: string;
  /** The verify script's verdict, `verified <id> <key file>`. */
  readonly verdict: string;
  /** The trusted key file that verified it. */
  readonly signer: string;
  readonly verifyMs: number;
}

/**
 * Verifies `releases/<id>` again in place, on the host: the release package's HOST_VERIFY_SCRIPT
 * against `trust/` (the signature against the trusted keys, every listed file's size and sha256,
 * nothing unlisted), exactly as the folder was verified when it was installed. Changes nothing.
 * A release that does not verify is a HostVerificationError with the script's reason (`failure`
 * words its message); success is the script's own verdict for this release, nothing less (fail
 * closed).
 */
export async function verifyRelease(
  connection: SshConnection,
  layout: HostLayout,
  releaseId: string,
  options: { failure?: (reason: string) => string } = {},
): Promise<VerifiedRelease> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  const dir = layout.releaseDir(releaseId);
  const started = performance.now();
  const out = await runVerifying(connection, VERIFY_RELEASE_SCRIPT, VERIFY_RELEASE_SCRIPT_NAME, [dir, layout.trustDir, releaseId], {
    failure:
      options.failure ??
      ((reason) =>
        `Release ${releaseId} no longer verifies on ${connection.host} against ${layout.trustDir}: ${reason}. ` +
        'A release folder must never change after it was verified: find out who altered it.'),
  });
  const verifyMs = Math.round(performance.now() - started);
  const verdict = out.trim().split('\n').pop() ?? '';
  if (!verdict.startsWith(`verified ${releaseId} `)) {
    throw new Error(`Verifying release ${releaseId} on ${connection.host} gave no verdict (${JSON.stringify(verdict)}); it is not used.`);
  }
  return { releaseId, verdict, signer: signerOf(verdict), verifyMs };
}

export interface InstalledRelease {
  readonly releaseId: string;
  /** True when `releases/<id>` was already on the host and verified again in place. */
  readonly reused: boolean;
  /** The trusted key file that verified it. */
  readonly signer: string;
  readonly uploadedBytes: number;
  readonly uploadMs: number;
  readonly verifyMs: number;
}

export interface InstallReleaseOptions {
  layout: HostLayout;
  bundleDir: string;
  releaseId: string;
  /** `releases/<id>` is already on the host (from readHostState). */
  exists: boolean;
  logger: Logger;
}

export async function installRelease(connection: SshConnection, options: InstallReleaseOptions): Promise<InstalledRelease> {
  const { layout, bundleDir, releaseId, logger } = options;
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  const final = layout.releaseDir(releaseId);

  if (options.exists) {
    const { signer, verifyMs } = await verifyRelease(connection, layout, releaseId, {
      failure: (reason) =>
        `Release ${releaseId} is already on ${connection.host} (${final}) but no longer verifies there: ${reason}. ` +
        'Nothing was changed. A release folder must never change after it was verified: find out who altered it, then remove it so the bundle can be uploaded again.',
    });
    await connection.runScript(READ_ONLY_RELEASE_SCRIPT, [final], { name: READ_ONLY_RELEASE_SCRIPT_NAME, timeoutMs: 60_000 });
    logger.info(`Release ${releaseId} is already on the host and verifies again in place (${signer}).`);
    return { releaseId, reused: true, signer, uploadedBytes: 0, uploadMs: 0, verifyMs };
  }

  const partial = `${layout.releasesDir}/.${releaseId}.partial-${randomBytes(6).toString('hex')}`;
  const uploadStarted = performance.now();
  let uploadedBytes: number;
  try {
    const stats = await connection.uploadTree(bundleDir, partial, { symlinks: 'refuse' });
    uploadedBytes = stats.bytes;
  } catch (error: unknown) {
    await connection.run(['sh', '-c', 'chmod -R u+w -- "$1" 2>/dev/null || true; rm -rf -- "$1"', 'titan-remove-partial', partial], { timeoutMs: 60_000 }).catch(() => undefined);
    throw error;
  }
  const uploadMs = Math.round(performance.now() - uploadStarted);
  logger.info(`Uploaded ${uploadedBytes} bytes to ${partial} in ${(uploadMs / 1000).toFixed(2)} s (one tar stream).`);

  const verifyStarted = performance.now();
  const out = await runVerifying(connection, INSTALL_RELEASE_SCRIPT, INSTALL_RELEASE_SCRIPT_NAME, [partial, final, layout.trustDir, releaseId], {
    failure: (reason) =>
      `The host ${connection.host} refused release ${releaseId}: ${reason}. The uploaded copy was removed and nothing else on the host was touched. ` +
      'Sign the bundle again from the release source with the release key the host trusts (trust/ on the host), and do not edit it afterwards.',
  });
  const verifyMs = Math.round(performance.now() - verifyStarted);
  logger.info(`The host verified release ${releaseId} against its trusted key (${signerOf(out)}) and installed it as ${final}.`);
  return { releaseId, reused: false, signer: signerOf(out), uploadedBytes, uploadMs, verifyMs };
}

async function runVerifying(
  connection: SshConnection,
  script: string,
  name: string,
  args: string[],
  messages: { failure: (reason: string) => string },
): Promise<string> {
  try {
    return (await connection.runScript(script, args, { name, timeoutMs: 5 * 60_000, stdin: HOST_VERIFY_SCRIPT })).stdout;
  } catch (error: unknown) {
    if (error instanceof CommandFailedError && error.exitCode === EXIT_NOT_VERIFIED) {
      const reason = verifyReason(error.stderrTail);
      throw new HostVerificationError(messages.failure(reason), reason, { cause: error });
    }
    throw error;
  }
}

/** The verify script's `verify-release: <reason>` line, or the last line of what it said. */
export function verifyReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const tagged = lines.find((l) => l.startsWith('verify-release: '));
  if (tagged !== undefined) return tagged.slice('verify-release: '.length);
  return lines[lines.length - 1] ?? 'the verify script failed without saying why';
}

function signerOf(out: string): string {
  const match = /^verified \S+ (\S+)$/m.exec(out);
  return match?.[1] ?? 'unknown key';
}
