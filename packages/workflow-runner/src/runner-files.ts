/**
 * The files a runner hands each step (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY)
 * and how it reads them back afterwards (their syntax: @titan/runner-files/key-value-file).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseKeyValueFile } from '@titan/runner-files/key-value-file';

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
