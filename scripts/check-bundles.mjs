#!/usr/bin/env node
// Every committed action bundle must start under Node 24 (the runners' Node) and, given no inputs,
// fail with a ConfigurationError that names the missing input; its dist/ must ship licenses.txt
// (the bundled third-party packages and their licences) and no program for another platform.
// Usage: node scripts/check-bundles.mjs NODE24
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { actionDirs } from './actions.mjs';

const node = resolve(process.argv[2] ?? process.execPath);
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (!version.startsWith('v24.')) {
  console.error(`check-bundles: ${node} is ${version || 'not runnable'}, expected Node 24`);
  process.exit(1);
}
let failures = 0;
const dirs = actionDirs();
for (const dir of dirs) {
  const bundle = resolve(dir, 'dist', 'index.js');
  if (!existsSync(bundle)) {
    console.error(`✗ ${dir}: no dist/index.js (run: npx turbo run bundle)`);
    failures++;
    continue;
  }
  const licenses = join(dir, 'dist', 'licenses.txt');
  if (!existsSync(licenses) || !/\bMIT\b/.test(readFileSync(licenses, 'utf8'))) {
    console.error(`✗ ${dir}: dist/licenses.txt is missing or lists no licence (run: npx turbo run bundle)`);
    failures++;
  }
  const binaries = readdirSync(join(dir, 'dist'), { recursive: true }).filter((f) => /\.(exe|dll|so|dylib|node)$/i.test(String(f)));
  if (binaries.length > 0) {
    console.error(`✗ ${dir}: dist/ holds platform binaries: ${binaries.join(', ')}`);
    failures++;
  }
  const yml = readFileSync(join(dir, 'action.yml'), 'utf8');
  if (!/using:\s*['"]?node24/.test(yml)) {
    console.error(`✗ ${dir}: action.yml does not say runs.using: node24`);
    failures++;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'titan-bundle-'));
  const output = join(scratch, 'output');
  writeFileSync(output, '');
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_') && !k.startsWith('GITHUB_')),
  );
  const started = Date.now();
  const run = spawnSync(node, [bundle], {
    cwd: scratch,
    env: { ...env, GITHUB_OUTPUT: output, RUNNER_TEMP: scratch },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const ms = Date.now() - started;
  rmSync(scratch, { recursive: true, force: true });
  const text = `${run.stdout}${run.stderr}`;
  const named = /::error::Configuration error: Input required and not supplied: [a-z-]+/.exec(text);
  if (run.status === 1 && named) {
    console.log(`✓ ${dir}: starts under Node ${version} in ${ms} ms; no inputs -> ${named[0].slice(9)}`);
  } else {
    console.error(`✗ ${dir}: expected exit 1 with a ConfigurationError naming the missing input; got exit ${run.status}\n${text}`);
    failures++;
  }
}
if (dirs.length === 0) console.log('check-bundles: no actions yet');
process.exit(failures === 0 ? 0 : 1);
