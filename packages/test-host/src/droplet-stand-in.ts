/**
 * The Droplet stand-in of the test host (scripts/test-host/droplet) as tests use it: boot it with
 * the user data the API double received, run commands inside it as its console would, stop it.
 * The stand-in is real Debian 13 running cloud-init and sshd in namespaces of its own; see the
 * script for what stands in for what.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from './action-run.js';

const SCRIPT = join(REPOSITORY_ROOT, 'scripts/test-host/droplet');

export interface BootOptions {
  readonly userData: string;
  readonly sshPort: number;
  readonly appDir: string;
  readonly volume?: string;
  /** Loopback ports of the machine that appear on the stand-in's loopback (the stack's published ports). */
  readonly forward?: readonly number[];
}

export class DropletStandIn {
  readonly name: string;
  private readonly stateDir: string;
  constructor(name: string, stateDir: string) {
    this.name = name;
    this.stateDir = stateDir;}

  get dir(): string {
    return join(this.stateDir, 'droplet', this.name);
  }

  boot(options: BootOptions): void {
    const file = join(this.stateDir, `droplet-${this.name}.user-data`);
    writeFileSync(file, options.userData, { mode: 0o600 });
    const args = ['boot', this.name, file, String(options.sshPort), options.appDir];
    if (options.volume !== undefined) args.push('--volume', options.volume);
    for (const port of options.forward ?? []) args.push('--forward', String(port));
    execFileSync('bash', [SCRIPT, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** Waits for cloud-init's final stage; returns `cloud-init status --long` as the stand-in saw it. */
  waitBooted(timeoutSeconds = 300): string {
    return execFileSync('bash', [SCRIPT, 'wait', this.name, String(timeoutSeconds)], { encoding: 'utf8' });
  }

  /** Runs a command as root inside the stand-in. */
  exec(argv: readonly string[], stdin?: string): { status: number | null; stdout: string; stderr: string } {
    const run = spawnSync('bash', [SCRIPT, 'exec', this.name, ...argv], { encoding: 'utf8', input: stdin ?? '' });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  stop(): void {
    execFileSync('bash', [SCRIPT, 'stop', this.name], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

/** A free TCP port on the loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The loopback ports the example stack publishes (docker-compose.prod.yml), which verify reaches. */
export function stackPorts(composeText: string): number[] {
  return [...new Set([...composeText.matchAll(/127\.0\.0\.1:(\d+):\d+/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}
