/**
 * Throwaway containers on the runner (its own `docker` CLI), for proving a backup away from the
 * trading host: started detached with a name of their own and a label, every command run in them
 * with `docker exec` (data on stdin, never a file), removed with their volumes by `remove()`, also
 * when the proof failed. The image and extra `docker run` options are the caller's (so the same
 * code runs postgres:16-alpine on a GitHub runner and the test host's own images here).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

export const SCRATCH_LABEL = 'io.titan.scratch';

export class ScratchError extends Error {
  override readonly name = 'ScratchError';
}

export interface ExecResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `docker ARGS`; `stdin` is piped in with backpressure. Rejects only when docker cannot be started. */
export function dockerCli(args: readonly string[], options: { stdin?: Readable; timeoutMs?: number; maxOutput?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', [...args], { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const max = options.maxOutput ?? 16 * 1024 * 1024;
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < max) stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-64 * 1024);
    });
    const timer = options.timeoutMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new ScratchError(`docker could not be run on the runner: ${error.message} (the proof needs a Docker engine on the runner).`, { cause: error }));
    });
    if (options.stdin && child.stdin) {
      const input = options.stdin;
      child.stdin.on('error', () => undefined);
      input.on('error', () => child.kill('SIGKILL'));
      input.pipe(child.stdin);
    }
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal !== null ? 128 : 1), stdout, stderr });
    });
  });
}

export interface ScratchSpec {
  /** What the container is for, in its name and errors: `postgres`, `nats`. */
  readonly role: string;
  readonly image: string;
  /** Extra `docker run` options, one per entry (`--volume=/usr:/usr:ro`). */
  readonly options: readonly string[];
  readonly entrypoint: string;
  readonly args: readonly string[];
  readonly user?: string;
  /** Container ports to publish on the runner's 127.0.0.1 (a free port each). */
  readonly publish?: readonly number[];
}

export class ScratchContainer {
  readonly id: string;
  readonly name: string;
  readonly role: string;

  private constructor(id: string, name: string, role: string) {
    this.id = id;
    this.name = name;
    this.role = role;
  }

  static async start(spec: ScratchSpec): Promise<ScratchContainer> {
    const name = `titan-scratch-${spec.role}-${randomBytes(4).toString('hex')}`;
    const args = [
      'run', '--detach', '--name', name, '--label', `${SCRATCH_LABEL}=${spec.role}`,
      ...(spec.user !== undefined ? ['--user', spec.user] : []),
      ...(spec.publish ?? []).flatMap((port) => ['--publish', `127.0.0.1::${port}`]),
      ...spec.options,
      '--entrypoint', spec.entrypoint, spec.image, ...spec.args,
    ];
    const run = await dockerCli(args, { timeoutMs: 300_000 });
    if (run.status !== 0) throw new ScratchError(`The throwaway ${spec.role} container (${spec.image}) did not start on the runner: ${run.stderr.trim() || `docker run exited ${run.status}`}`);
    return new ScratchContainer(run.stdout.trim(), name, spec.role);
  }

  exec(argv: readonly string[], options: { stdin?: Readable; timeoutMs?: number; user?: string } = {}): Promise<ExecResult> {
    return dockerCli(['exec', ...(options.stdin ? ['--interactive'] : []), ...(options.user !== undefined ? ['--user', options.user] : []), this.id, ...argv], options);
  }

  /** The runner's 127.0.0.1 port that `port` of the container is published on. */
  async publishedPort(port: number): Promise<number> {
    const run = await dockerCli(['port', this.id, `${port}/tcp`]);
    const match = /127\.0\.0\.1:(\d+)/.exec(run.stdout);
    if (run.status !== 0 || match === null) throw new ScratchError(`The throwaway ${this.role} container publishes no port for ${port}: ${run.stderr.trim()}`);
    return Number(match[1]);
  }

  async logs(): Promise<string> {
    const run = await dockerCli(['logs', '--tail', '40', this.id]);
    return `${run.stdout}${run.stderr}`.trim();
  }

  async remove(): Promise<void> {
    await dockerCli(['rm', '--force', '--volumes', this.id], { timeoutMs: 120_000 });
  }
}
