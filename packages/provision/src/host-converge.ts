/**
 * The host, over the pinned connection: first boot finished, the injected host key replaced by the
 * host's own (once), the release trust keys, the JetStream volume mounted, the application folder's
 * owners and modes, and the production values. Each is compared first and written only when it
 * differs; plan mode only compares.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { rotateHostKey } from './host-key-rotation.js';
import { hostHelper, readHostStatus, waitForFirstBoot, type HostEndpoint } from './host-session.js';
import type { HostSpec } from './host-spec.js';
import type { HostStatus } from './host-status.js';
import type { HostValues } from './host-values.js';
import { change, type ResourceChange } from './resource-change.js';
import { EXIT_NO_APP_DIR } from '@titan/ssh/exit-status';

export interface HostConvergeOptions {
  readonly spec: HostSpec;
  readonly endpoint: HostEndpoint;
  readonly values: HostValues | undefined;
  readonly plan: boolean;
  readonly logger: Logger;
  readonly deadlineMs: number;
  readonly bootTimeoutMs: number;
  /** Called with each change as soon as it is known (so a failure later still reports it). */
  readonly record: (c: ResourceChange) => ResourceChange;
}

export interface HostConvergeResult {
  readonly publicKey: string | undefined;
  readonly fingerprint: string;
  readonly connection: SshConnection;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// $1 app dir: owner, group and mode of the layout, then the sha256 of every production value file.
const LAYOUT_SCRIPT = `cd "$1" || exit ${EXIT_NO_APP_DIR}
for p in . releases shared shared/secrets state trust journal.jsonl; do
  if [ -e "$p" ]; then stat -c "layout %n %U %G %a" "$p"; else echo "layout $p missing"; fi
done
for f in shared/.env.prod shared/secrets/*; do
  [ -f "$f" ] && echo "file $f $(stat -c %a "$f") $(sha256sum "$f" | cut -d' ' -f1)"
done
true`;

const EXPECTED_LAYOUT: Record<string, string> = {
  '.': 'DEPLOY DEPLOY 750',
  releases: 'DEPLOY DEPLOY 750',
  shared: 'DEPLOY DEPLOY 700',
  'shared/secrets': 'DEPLOY DEPLOY 700',
  state: 'DEPLOY DEPLOY 750',
  trust: 'root root 755',
  'journal.jsonl': 'DEPLOY DEPLOY 640',
};

export async function convergeHost(first: SshConnection, options: HostConvergeOptions): Promise<HostConvergeResult> {
  const { spec, logger, record } = options;
  let connection = first;
  await waitForFirstBoot(connection, logger, options.bootTimeoutMs);
  let status: HostStatus = await readHostStatus(connection);
  let publicKey: string | undefined;

  // The host key: the injected one is replaced exactly once, over the connection pinned to it.
  if (status.rotatedTo === undefined) {
    const c = record(change('host key', spec.hostname, 'create', [`replace the injected first-boot key ${status.hostKeyFingerprint} with the host's own`]));
    if (!options.plan) {
      const rotated = await rotateHostKey(connection, options.endpoint, logger, options.deadlineMs);
      connection = rotated.connection;
      status = rotated.status;
      publicKey = rotated.publicKey;
      c.details.push(`now ${rotated.fingerprint}, the only key sshd offers`);
      c.id = rotated.fingerprint;
      c.applied = true;
    }
  } else {
    record(change('host key', spec.hostname, status.hostKeyCount === 1 ? 'unchanged' : 'drift', status.hostKeyCount === 1 ? [] : [`sshd offers ${status.hostKeyCount} host keys`], status.hostKeyFingerprint));
  }

  // Trusted release keys.
  const wanted = new Map(spec.releaseKeys.map((k) => [k.id, k]));
  for (const key of spec.releaseKeys) {
    const live = status.trust.get(key.id);
    if (live === sha256(key.pem)) {
      record(change('trust key', key.id, 'unchanged'));
      continue;
    }
    const c = record(change('trust key', key.id, live === undefined ? 'create' : 'change', [`${spec.appDir}/trust/${key.id}.pem`]));
    if (!options.plan) {
      await hostHelper(connection, ['trust-add', key.id], { stdin: key.pem });
      c.applied = true;
    }
  }
  for (const id of status.trust.keys()) {
    if (wanted.has(id)) continue;
    const c = record(change('trust key', id, 'change', ['no longer trusted: removed']));
    if (!options.plan) {
      await hostHelper(connection, ['trust-remove', id]);
      c.applied = true;
    }
  }

  // The JetStream volume.
  if (spec.volume !== undefined) {
    const v = status.volume;
    if (v.state === 'mounted' && v.mountPoint === spec.volume.mountPoint) {
      record(change('volume mount', spec.volume.mountPoint, 'unchanged', [`${v.source ?? '?'}`]));
    } else if (v.state === 'none' || v.mountPoint !== spec.volume.mountPoint) {
      record(change('volume mount', spec.volume.mountPoint, 'drift', [`the host was provisioned with ${v.state === 'none' ? 'no volume mount' : `the mount point ${v.mountPoint ?? '?'}`}: not changed`]));
    } else {
      const c = record(change('volume mount', spec.volume.mountPoint, 'change', ['mount it (fstab)']));
      if (!options.plan) {
        await hostHelper(connection, ['mount']);
        c.applied = true;
      }
    }
  }

  // The application folder and the production values.
  const layout = await connection.runScript(LAYOUT_SCRIPT, [spec.appDir], { name: 'titan-layout' });
  const files = new Map<string, { mode: string; sha: string }>();
  const drift: string[] = [];
  for (const line of layout.stdout.split('\n')) {
    const [kind, path, ...rest] = line.split(' ');
    if (kind === 'layout' && path !== undefined) {
      const want = EXPECTED_LAYOUT[path.replace(/^\.\//, '')]?.replace(/DEPLOY/g, spec.deployUser);
      const have = rest.join(' ');
      if (want !== undefined && have !== want) drift.push(`${path}: ${have} (expected ${want})`);
    } else if (kind === 'file' && path !== undefined) files.set(path, { mode: rest[0] ?? '', sha: rest[1] ?? '' });
  }
  record(change('host layout', spec.appDir, drift.length > 0 ? 'drift' : 'unchanged', drift));

  if (options.values !== undefined) {
    const desired = [{ path: 'shared/.env.prod', content: options.values.envText }, ...options.values.secretFiles.map((f) => ({ path: `shared/secrets/${f.file}`, content: f.content }))];
    for (const file of desired) {
      const live = files.get(file.path);
      const same = live !== undefined && live.sha === sha256(file.content) && live.mode === '600';
      const c = record(change(file.path === 'shared/.env.prod' ? 'values' : 'secret file', file.path, same ? 'unchanged' : live === undefined ? 'create' : 'change', same ? [] : ['0600, written over stdin']));
      if (!same && !options.plan) {
        await connection.uploadFile(Buffer.from(file.content), `${spec.appDir}/${file.path}`, { mode: 0o600 });
        c.applied = true;
      }
    }
  }
  return { publicKey, fingerprint: status.hostKeyFingerprint, connection };
}
