/**
 * The host's own values as a test's application folder needs them, copied from the test host's
 * (scripts/test-host/up writes those): shared/.env.prod and the secret files of the secrets overlay,
 * shared/secrets/<name>, laid out as provisioning lays them out (folders 0700, files 0600, all owned
 * by the deploy user). The values are secrets: nothing here prints them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackSecretsOf } from '@titan/release/stack-secrets';
import { parse } from 'yaml';
import type { TestHost } from './test-host.js';

export function copySharedValues(host: TestHost, appDir: string): void {
  const uid = Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim());
  const own = (path: string, mode: number): void => {
    chownSync(path, uid, gid);
    chmodSync(path, mode);
  };
  const from = join(host.appDir, 'shared');
  const to = join(appDir, 'shared');
  mkdirSync(to, { recursive: true });
  own(to, 0o700);
  copyFileSync(join(from, '.env.prod'), join(to, '.env.prod'));
  own(join(to, '.env.prod'), 0o600);
  const secrets = join(from, 'secrets');
  if (!existsSync(secrets)) return;
  mkdirSync(join(to, 'secrets'), { recursive: true });
  own(join(to, 'secrets'), 0o700);
  for (const name of readdirSync(secrets)) {
    copyFileSync(join(secrets, name), join(to, 'secrets', name));
    own(join(to, 'secrets', name), 0o600);
  }
}

/**
 * action-provision's `secret-files` input for a release source's secrets overlay
 * (`docker-compose.secrets.yml`): one `FILE=VARIABLE` line per secret file it mounts from
 * shared/secrets/, so a provisioned host keeps the files a deploy of that source needs.
 */
export function secretFilesInput(source: string): string {
  const overlay = parse(readFileSync(join(source, 'docker-compose.secrets.yml'), 'utf8')) as unknown;
  return stackSecretsOf([overlay])
    .flatMap((s) => (s.hostPath?.startsWith('shared/secrets/') === true && s.variable !== undefined ? [`${s.hostPath.slice('shared/secrets/'.length)}=${s.variable}`] : []))
    .join('\n');
}
