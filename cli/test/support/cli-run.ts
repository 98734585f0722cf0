import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE24, REPOSITORY_ROOT } from '@titan/test-host/action-run';

/** The `titan` command as `npx @titan/cli` runs it: cli/bin/titan.js (the committed bundle) under Node 24. */
export const TITAN_BIN = join(REPOSITORY_ROOT, 'cli', 'bin', 'titan.js');

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** The summary and the outputs. */
  stdout: string;
  /** Progress and log lines, the error. */
  stderr: string;
}

export interface RunningCli {
  pid: number;
  kill(signal: NodeJS.Signals): boolean;
  stderr(): string;
  result: Promise<CliRun>;
}

/**
 * Starts `titan <args>` in a scratch working folder, with the test's environment minus anything a
 * runner or an operator's shell would pass as inputs (INPUT_*, GITHUB_*, RUNNER_*, TITAN_*), plus `env`.
 */
export function startCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 240_000): RunningCli {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_|TITAN_)/.test(k)) clean[k] = v;
  const child = spawn(NODE24, [TITAN_BIN, ...args], { cwd: mkdtempSync(join(tmpdir(), 'titan-cli-test-')), env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const result = new Promise<CliRun>((done, fail) => {
    child.on('error', fail);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      done({ status, signal, stdout, stderr });
    });
  });
  return { pid: child.pid ?? -1, kill: (signal) => child.kill(signal), stderr: () => stderr, result };
}

export function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<CliRun> {
  return startCli(args, env, timeoutMs).result;
}

/** Inputs as flags (`--name value`). */
export function flags(inputs: Record<string, string>): string[] {
  return Object.entries(inputs).flatMap(([name, value]) => [`--${name}`, value]);
}
