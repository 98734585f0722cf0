/**
 * The staging side of the Titan repository, as an operator sets it up on the test host: the
 * staging stack's release source beside the production one in the repository (examples/titan at
 * its root, examples/titan-staging in `staging/`, building from the same image contexts), and a
 * staging host (an application folder and a Compose project of its own on the test host, laid out
 * as provisioning lays it out) holding the staging posture's values (staging.env, its POSTGRES_UID
 * and POSTGRES_GID the host's postgres user). The staging stack publishes production's ports plus
 * 5000, so it runs beside production on the one host.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import type { TestHost } from '@titan/test-host/test-host';

export const STAGING_SOURCE = join(REPOSITORY_ROOT, 'examples/titan-staging');
/** Where the staging stack's release source lies in the Titan repository. */
export const STAGING_FOLDER = 'staging';

/**
 * A Titan repository at `root`: the production example at its root (as the quick start assumes)
 * and the staging stack in `staging/`, its services.yml pointing at the root's image contexts
 * (`../images/...`, where this repository's copy says `../titan/images/...`).
 */
export function layOutTitanRepository(host: TestHost, root: string): void {
  cpSync(host.example, root, { recursive: true });
  const staging = join(root, STAGING_FOLDER);
  cpSync(STAGING_SOURCE, staging, { recursive: true });
  const services = join(staging, 'services.yml');
  const text = readFileSync(services, 'utf8');
  const moved = text.replaceAll('../titan/images/', '../images/');
  if (moved === text) throw new Error(`${services} names no ../titan/images/ context: the staging source changed its layout`);
  writeFileSync(services, moved);
  execFileSync('git', ['init', '-q', root]);
}

export interface StagingHost {
  readonly appDir: string;
  readonly project: string;
  /** The staging values the host holds (shared/.env.prod), dotenv text. */
  readonly values: string;
  /** The secrets the staging gate requires: every secret of staging.env. */
  readonly required: readonly string[];
  /** NATS as the host sees it (the staging stack's published client port). */
  readonly natsUrl: string;
  value(name: string): string;
}

const NOT_SECRET = new Set(['TITAN_MODE', 'TITAN_REGISTRY', 'POSTGRES_UID', 'POSTGRES_GID']);

/** A fresh staging application folder `<stateDir>/opt/<name>` for the Compose project `project`. */
export function prepareStagingHost(host: TestHost, name: string, project: string): StagingHost {
  const appDir = join(host.stateDir, 'opt', name);
  rmSync(appDir, { recursive: true, force: true });
  const template = readFileSync(join(STAGING_SOURCE, 'staging.env'), 'utf8');
  const production = readFileSync(join(host.appDir, 'shared', '.env.prod'), 'utf8');
  const hostValue = (text: string, key: string): string => {
    const line = text.split('\n').find((l) => l.startsWith(`${key}=`));
    if (line === undefined) throw new Error(`no ${key} in the host's values`);
    return line.slice(key.length + 1);
  };
  const values = template
    .replace('POSTGRES_UID=__CHANGE_ME__', `POSTGRES_UID=${hostValue(production, 'POSTGRES_UID')}`)
    .replace('POSTGRES_GID=__CHANGE_ME__', `POSTGRES_GID=${hostValue(production, 'POSTGRES_GID')}`);
  const uid = Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim());
  mkdirSync(join(appDir, 'releases'), { recursive: true, mode: 0o750 });
  mkdirSync(join(appDir, 'shared'), { mode: 0o700 });
  mkdirSync(join(appDir, 'trust'), { mode: 0o755 });
  writeFileSync(join(appDir, 'shared', '.env.prod'), values, { mode: 0o600 });
  cpSync(host.releasePublicKeyPem, join(appDir, 'trust', `${host.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '', { mode: 0o640 });
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'shared'), join(appDir, 'shared', '.env.prod'), join(appDir, 'journal.jsonl')]) chownSync(path, uid, gid);
  execFileSync('chmod', ['0750', appDir]);
  const required = template
    .split('\n')
    .map((l) => /^([A-Z_][A-Z0-9_]*)=/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && !NOT_SECRET.has(n));
  return { appDir, project, values, required, natsUrl: '127.0.0.1:9222', value: (key) => hostValue(values, key) };
}
