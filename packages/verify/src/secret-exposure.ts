/**
 * The secrets a release mounts as files (its secrets overlay, @titan/release/stack-secrets), checked
 * on the host where they run: each file kept as it must be (@titan/host/secret-files), and its
 * content found nowhere else: not in the release folder, not in a container's log, labels or
 * environment, not in an image's labels, not in what `docker compose config` makes of the release.
 * The search runs on the host (@titan/host's titan-secret-exposure: `grep -F -f <secret file>`), so
 * the content never leaves the file: not on a command line, not over the connection. What is
 * reported names the secret file and the place, never the content. The file checks and the search
 * run at once, on two channels of the connection.
 */
import { composeArgv, currentTarget } from '@titan/host/compose-command';
import { HostLayout } from '@titan/host/host-layout';
import { lastRecord, recordsOf } from '@titan/host/host-record';
import { runHostScript } from '@titan/host/host-script';
import { inspectSecretFiles, releaseSecretPaths } from '@titan/host/secret-files';
import type { ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyFailure } from './verify-report.js';

export interface SecretCheck {
  /** `secret-file` and `secret-exposure` failures; empty when all holds. */
  readonly failures: VerifyFailure[];
  /** The full ids of the project's containers that were searched (sorted); undefined when the release mounts no secret file. */
  readonly searched: readonly string[] | undefined;
  /** Whether `docker compose config` ran (false: its inputs were those of a clean search before). */
  readonly composeModelSearched: boolean;
}

/**
 * The secret-file failures of the release `manifest` running in `project`: each file's state on the
 * host, then each place its content was found. No failure when the release mounts no secret file.
 */
export async function checkSecretFiles(connection: SshConnection, options: { appDir: string; project: string; manifest: ReleaseManifest; timeoutMs: number }): Promise<SecretCheck> {
  const layout = new HostLayout(options.appDir);
  const paths = await releaseSecretPaths(connection, layout, options.manifest);
  if (paths.length === 0) return { failures: [], searched: undefined, composeModelSearched: false };
  const argv = composeArgv(currentTarget(layout, options.project, options.manifest.compose, 'DISARMED'), []);
  const [problems, { stdout }] = await Promise.all([
    inspectSecretFiles(connection, layout, paths),
    runHostScript(connection, layout, 'titan-secret-exposure', [options.manifest.releaseId, options.project, String(paths.length), ...paths, ...argv], {
      timeoutMs: Math.max(30_000, options.timeoutMs),
    }),
  ]);
  const failures: VerifyFailure[] = problems.map((p) => ({ service: 'host', check: 'secret-file', detail: `${p.path} ${p.problem}` }));
  for (const [secret = '', where = ''] of recordsOf(stdout, 'exposure')) {
    failures.push({ service: 'host', check: 'secret-exposure', detail: secret === '-' ? where : `the content of ${secret} is in ${where}` });
  }
  return {
    failures,
    searched: [...(lastRecord(stdout, 'searched') ?? [])].sort(),
    composeModelSearched: lastRecord(stdout, 'compose-model')?.[0] === 'searched',
  };
}
