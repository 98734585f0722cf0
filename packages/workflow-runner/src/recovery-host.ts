/**
 * What recover.yml needs around the test host, set up as an operator sets up GitHub and DigitalOcean
 * for it: the spec-validated DigitalOcean API double (the account), a Droplet stand-in that boots
 * the user data the double received with Debian 13's own cloud-init once the Droplet exists (as
 * DigitalOcean boots it), and the `recovery` GitHub environment naming that new Droplet: its own
 * deploy key, SSH port, application folder and Compose project (the stand-in shares this machine's
 * Docker engine with the old host, so its stack must be a project of its own), production's values,
 * the bucket and the restore key. The workflow test and the main job (scripts/demo) both use it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';
import { DropletStandIn, freePort, stackPorts } from '@titan/test-host/droplet-stand-in';
import { secretFilesInput } from '@titan/test-host/shared-values';
import type { TestHost } from '@titan/test-host/test-host';
import { bringDown } from '@titan/test-host/stack-teardown';
import type { EnvironmentSettings } from './run-model.js';

export const RECOVERY_PROJECT = 'recovered';
export const RECOVERY_DROPLET = 'titan-recovered';

export interface RecoveryHost {
  readonly double: DigitalOceanApiDouble;
  readonly standIn: DropletStandIn;
  readonly sshPort: number;
  readonly appDir: string;
  readonly deployKey: string;
  /** The `recovery` environment, given the bucket's and the stack's settings. */
  environment(extra: { vars: Record<string, string>; secrets: Record<string, string> }): EnvironmentSettings;
  /** Boots the stand-in as soon as the double holds the Droplet (rejects after `timeoutMs`). */
  bootWhenCreated(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRecoveryHost(host: TestHost, values: string): Promise<RecoveryHost> {
  const token = `dop_v1_${randomBytes(32).toString('hex')}`;
  const keys = mkdtempSync(join(tmpdir(), 'titan-recovery-keys-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy@recovery', '-f', join(keys, 'deploy')]);
  const deployKey = readFileSync(join(keys, 'deploy'), 'utf8');
  const deployPublicKey = readFileSync(join(keys, 'deploy.pub'), 'utf8').trim();
  rmSync(keys, { recursive: true, force: true });
  const appDir = join(host.stateDir, 'droplet-app', 'recovery');
  const standIn = new DropletStandIn('recovery', host.stateDir);
  standIn.stop();
  bringDown(RECOVERY_PROJECT);
  rmSync(appDir, { recursive: true, force: true });
  const sshPort = await freePort();
  const double = await DigitalOceanApiDouble.start({ token, domains: ['titan-trading.net'], dropletAddress: () => '127.0.0.1' });
  const ports = stackPorts(readFileSync(join(host.example, 'docker-compose.prod.yml'), 'utf8'));
  return {
    double,
    standIn,
    sshPort,
    appDir,
    deployKey,
    environment: (extra) => ({
      vars: {
        DROPLET_NAME: RECOVERY_DROPLET,
        DROPLET_REGION: 'fra1',
        DROPLET_SIZE: 's-2vcpu-4gb',
        SSH_ALLOWED_SOURCES: '127.0.0.0/8',
        DEPLOY_PUBLIC_KEY: deployPublicKey,
        RELEASE_PUBLIC_KEYS: host.releasePublicKey,
        DROPLET_UPGRADE_PACKAGES: 'false',
        DIGITALOCEAN_API_URL: double.url,
        TITAN_SSH_PORT: String(sshPort),
        TITAN_APP_DIR: appDir,
        TITAN_PROJECT: RECOVERY_PROJECT,
        TITAN_URL: 'https://recovery.titan-trading.net',
        // The secret files the example's secrets overlay mounts: provision writes them, the deploy needs them.
        SECRET_FILES: secretFilesInput(host.example),
        ...extra.vars,
      },
      secrets: { DIGITALOCEAN_TOKEN: token, TITAN_SSH_KEY: deployKey, TITAN_ENV: values, ...extra.secrets },
    }),
    async bootWhenCreated(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const id = [...double.world.droplets.keys()][0];
        if (id !== undefined) {
          standIn.boot({ userData: double.world.userData.get(id) ?? '', sshPort, appDir, volume: `${RECOVERY_DROPLET}-jetstream`, forward: ports });
          return;
        }
        if (Date.now() > deadline) throw new Error('recover.yml created no Droplet');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      bringDown(RECOVERY_PROJECT, appDir);
      standIn.stop();
      await double.close();
    },
  };
}
