/**
 * A LocalGitHub set up the way an operator sets up the Titan repository, against the test host:
 * environments `staging` and `production` (production with required reviewers) whose variables
 * name the test host and pin its key, whose secrets are its deploy key and values; the release
 * key and the registry as repository secrets and variables; `titan/actions@v1` resolving to this
 * working tree (the committed bundles and workflows a release would tag).
 *
 * Staging is, when a StagingHost is given (staging-stack.ts), the staging stack's own application
 * folder and Compose project on the test host, holding the staging posture's values; otherwise the
 * test host's own folder, as production. The host's own values name reserved `.invalid` domains,
 * which the production gate rightly refuses; production's TITAN_ENV secret is those values with a
 * production domain instead.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { readReleaseKey, type TestHost } from '@titan/test-host/test-host';
import type { GitHubApiStandIn } from './github-api.js';
import { LocalGitHub } from './local-github.js';
import type { ApprovalRequest, EnvironmentSettings, LocalGitHubOptions } from './run-model.js';
import type { StagingHost } from './staging-stack.js';

export interface TestHostGitHubOptions {
  readonly host: TestHost;
  readonly api: GitHubApiStandIn;
  readonly scratch: string;
  /** The repository the workflows run in (default: this one, titan/actions). */
  readonly repository?: { root: string; name: string };
  /** The key staging deploys with (e.g. an encrypted one); default the host's plain deploy key. */
  readonly stagingKey?: { privateKey: string; passphrase: string };
  /** The staging stack's host (default: staging is the test host's own folder, as production). */
  readonly staging?: StagingHost;
  /** Extra repository variables (TITAN_DIGEST_CACHE, TITAN_HEALTH_TIMEOUT, ...). */
  readonly vars?: Record<string, string>;
  /** Extra secrets and variables of the production environment (a backup's bucket and keys, ...). */
  readonly production?: { readonly secrets?: Record<string, string>; readonly vars?: Record<string, string> };
  /** More environments (a recovery host's, ...), beside staging and production. */
  readonly environments?: Record<string, EnvironmentSettings>;
  readonly approve?: (request: ApprovalRequest) => boolean | Promise<boolean>;
  readonly onLog?: LocalGitHubOptions['onLog'];
  readonly onStep?: LocalGitHubOptions['onStep'];
}

/** The host's production values (shared/.env.prod), as the host holds them. */
export function hostValues(host: TestHost): string {
  return readFileSync(`${host.appDir}/shared/.env.prod`, 'utf8');
}

/** One value of the host's production values. */
export function hostValue(host: TestHost, name: string): string {
  const line = hostValues(host)
    .split('\n')
    .find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`${host.appDir}/shared/.env.prod has no ${name}`);
  return line.slice(name.length + 1).replace(/^(['"])(.*)\1$/, '$2');
}

export function testHostEnvironments(host: TestHost, stagingKey?: { privateKey: string; passphrase: string }, staging?: StagingHost): Record<string, EnvironmentSettings> {
  const vars = {
    TITAN_SSH_PORT: String(host.port),
    TITAN_SSH_USER: host.user,
    TITAN_APP_DIR: host.appDir,
  };
  const secrets = {
    TITAN_SSH_HOST: host.host,
    TITAN_KNOWN_HOSTS: host.knownHosts,
    TITAN_SSH_KEY: readFileSync(host.privateKeyPath, 'utf8'),
    TITAN_NATS_CONSOLE_PASSWORD: hostValue(host, 'NATS_CONSOLE_PASSWORD'),
    TITAN_HMAC_SECRET: hostValue(host, 'HMAC_SECRET'),
  };
  const values = hostValues(host);
  const stagingStack: { vars: Record<string, string>; secrets: Record<string, string> } =
    staging === undefined
      ? { vars: {}, secrets: { TITAN_ENV: values } }
      : {
          vars: { TITAN_APP_DIR: staging.appDir, TITAN_PROJECT: staging.project, TITAN_NATS_URL: staging.natsUrl },
          secrets: { TITAN_ENV: staging.values, TITAN_NATS_CONSOLE_PASSWORD: staging.value('NATS_CONSOLE_PASSWORD'), TITAN_HMAC_SECRET: staging.value('HMAC_SECRET') },
        };
  return {
    staging: {
      vars: { ...vars, TITAN_URL: 'https://staging.titan-test.invalid', ...stagingStack.vars },
      secrets: {
        ...secrets,
        ...(stagingKey !== undefined ? { TITAN_SSH_KEY: stagingKey.privateKey, TITAN_SSH_KEY_PASSPHRASE: stagingKey.passphrase } : {}),
        ...stagingStack.secrets,
      },
    },
    production: {
      reviewers: true,
      vars: { ...vars, TITAN_URL: 'https://titan-trading.net' },
      secrets: { ...secrets, TITAN_ENV: values.replace(/titan-test\.invalid/g, 'titan-trading.net') },
    },
  };
}

export function testHostGitHub(options: TestHostGitHubOptions): LocalGitHub {
  const { host } = options;
  return new LocalGitHub({
    repository: options.repository ?? { root: REPOSITORY_ROOT, name: 'titan/actions' },
    actionRepositories: { 'titan/actions': { root: REPOSITORY_ROOT, refs: ['v1'] } },
    secrets: {
      TITAN_RELEASE_KEY: readReleaseKey(host),
      TITAN_REGISTRY_USERNAME: 'titan-ci',
      TITAN_REGISTRY_TOKEN: `dop_v1_${randomBytes(16).toString('hex')}`,
    },
    vars: {
      TITAN_REGISTRY: host.imagePrefix,
      TITAN_RELEASE_PUBLIC_KEY: host.releasePublicKey,
      TITAN_RELEASE_KEY_ID: host.releaseKeyId,
      ...(options.vars ?? {}),
    },
    environments: { ...withProduction(testHostEnvironments(host, options.stagingKey, options.staging), options.production), ...(options.environments ?? {}) },
    api: options.api,
    scratch: options.scratch,
    ...(options.approve !== undefined ? { approve: options.approve } : {}),
    ...(options.onLog !== undefined ? { onLog: options.onLog } : {}),
    ...(options.onStep !== undefined ? { onStep: options.onStep } : {}),
  });
}

function withProduction(
  environments: Record<string, EnvironmentSettings>,
  extra: TestHostGitHubOptions['production'],
): Record<string, EnvironmentSettings> {
  const production = environments['production'];
  if (extra === undefined || production === undefined) return environments;
  return {
    ...environments,
    production: { ...production, secrets: { ...production.secrets, ...extra.secrets }, vars: { ...production.vars, ...extra.vars } },
  };
}
