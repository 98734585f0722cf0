/**
 * The files a runner hands each step (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY)
 * and how it reads them back afterwards: `name=value` lines and `name<<DELIMITER` blocks.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface StepFiles {
  readonly output: string;
  readonly env: string;
  readonly path: string;
  readonly summary: string;
}

export async function createStepFiles(dir: string): Promise<StepFiles> {
  await mkdir(dir, { recursive: true });
  const files = { output: join(dir, 'output'), env: join(dir, 'env'), path: join(dir, 'path'), summary: join(dir, 'summary.md') };
  for (const file of Object.values(files)) await writeFile(file, '');
  return files;
}

/** GITHUB_OUTPUT / GITHUB_ENV syntax; a block without its closing delimiter is an error, as on a runner. */
export function parseKeyValueFile(text: string, what: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line === '') continue;
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block?.[1] !== undefined && block[2] !== undefined) {
      const end = lines.findIndex((l, j) => j > i && l.replace(/\r$/, '') === block[2]);
      if (end === -1) throw new Error(`${what}: ${block[1]} has no closing delimiter ${block[2]}`);
      values[block[1]] = lines.slice(i + 1, end).join('\n');
      i = end;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${what}: invalid line ${JSON.stringify(line)} (expected name=value or name<<DELIMITER)`);
    values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}

export interface StepFileResults {
  outputs: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
}

export async function readStepFiles(files: StepFiles): Promise<StepFileResults> {
  const [output, env, path, summary] = await Promise.all([files.output, files.env, files.path, files.summary].map((f) => readFile(f, 'utf8')));
  return {
    outputs: parseKeyValueFile(output ?? '', 'GITHUB_OUTPUT'),
    env: parseKeyValueFile(env ?? '', 'GITHUB_ENV'),
    path: (path ?? '').split('\n').filter((l) => l.trim() !== ''),
    summary: summary ?? '',
  };
}
