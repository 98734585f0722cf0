/**
 * Puts a release bundle on the host the only way a release may get there: uploaded (one tar stream)
 * into `releases/.<id>.partial-<random>`, made read-only for everyone (no write, setuid, setgid or
 * sticky bit survives), verified ON THE HOST (scripts/install-release.sh) by the release package's script (openssl against
 * `trust/` with the key the manifest names, sha256sum of every file), and only then renamed to
 * `releases/<id>`.
 * A bundle that fails is removed with its partial folder; nothing else is touched. A release folder
 * that is already there is verified again in place (verifyRelease, as a rollback checks the release
 * it returns to) and reused.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@titan/log/logger';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';
import { EXIT_NOT_VERIFIED } from '@titan/ssh/exit-status';
import type { HostLayout } from './host-layout.js';
import { lastRecord } from './host-record.js';
import { hostScript, runHostScript } from './host-script.js';
import type { HostScriptName } from './host-scripts.js';

/** The host refused the bundle: its own verification failed. */
export class HostVerificationError extends Error {
  override readonly name = 'HostVerificationError';

  readonly reason: string;
  constructor(
    message: string,
    /** The verify script's own reason (one line). */
    reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.reason = reason;
  }
}

export interface VerifiedRelease {
  readonly releaseId: string;
  /** The verify script's verdict, `verified <id> <key file>`. */
  readonly verdict: string;
  /** The trusted key file that verified it. */
  readonly signer: string;
  readonly verifyMs: number;
}

/**
 * Verifies `releases/<id>` again in place, on the host: the host script titan-check-bundle
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
  const started = performance.now();
  const verdict = await runVerifying(connection, layout, 'titan-verify-release', [releaseId], {
    failure:
      options.failure ??
      ((reason) =>
        `Release ${releaseId} no longer verifies on ${connection.host} against ${layout.trustDir}: ${reason}. ` +
        'A release folder must never change after it was verified: find out who altered it.'),
  });
  const verifyMs = Math.round(performance.now() - started);
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
    await runHostScript(connection, layout, 'titan-read-only-release', [releaseId], { timeoutMs: 60_000 });
    logger.info(`Release ${releaseId} is already on the host and verifies again in place (${signer}).`);
    return { releaseId, reused: true, signer, uploadedBytes: 0, uploadMs: 0, verifyMs };
  }

  const partialName = `.${releaseId}.partial-${randomBytes(6).toString('hex')}`;
  const partial = `${layout.releasesDir}/${partialName}`;
  const uploadStarted = performance.now();
  let uploadedBytes: number;
  try {
    const stats = await connection.uploadTree(bundleDir, partial, { symlinks: 'refuse' });
    uploadedBytes = stats.bytes;
  } catch (error: unknown) {
    await runHostScript(connection, layout, 'titan-remove-partial', [partialName], { timeoutMs: 60_000 }).catch(() => undefined);
    throw error;
  }
  const uploadMs = Math.round(performance.now() - uploadStarted);
  logger.info(`Uploaded ${uploadedBytes} bytes to ${partial} in ${(uploadMs / 1000).toFixed(2)} s (one tar stream).`);

  const verifyStarted = performance.now();
  const verdict = await runVerifying(connection, layout, 'titan-install-release', [partialName, releaseId], {
    failure: (reason) =>
      `The host ${connection.host} refused release ${releaseId}: ${reason}. The uploaded copy was removed and nothing else on the host was touched. ` +
      `Sign the bundle again from the release source with the release key the host trusts (${layout.trustDir} on the host), and do not edit it afterwards.`,
  });
  const verifyMs = Math.round(performance.now() - verifyStarted);
  logger.info(`The host verified release ${releaseId} against its trusted key (${signerOf(verdict)}) and installed it as ${final}.`);
  return { releaseId, reused: false, signer: signerOf(verdict), uploadedBytes, uploadMs, verifyMs };
}

/** Runs an install or a re-verify; its `verified` record's verdict (`verified <id> <key file>`, or '' when it gave none). */
async function runVerifying(
  connection: SshConnection,
  layout: HostLayout,
  name: HostScriptName,
  args: string[],
  messages: { failure: (reason: string) => string },
): Promise<string> {
  try {
    const { stdout } = await runHostScript(connection, layout, name, args, { timeoutMs: 5 * 60_000, stdin: hostScript('titan-check-bundle') });
    return lastRecord(stdout, 'verified')?.[0] ?? '';
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

function signerOf(verdict: string): string {
  const match = /^verified \S+ (\S+)$/.exec(verdict);
  return match?.[1] ?? 'unknown key';
}
