#!/usr/bin/env node
// Bundles one action into a committed dist/index.js with @vercel/ncc, from the action's compiled
// lib/index.js. The bundle is ESM, so it opens with a banner that defines `__dirname`, `__filename`
// and `require` from import.meta.url (bundled CommonJS dependencies such as ssh2 expect them).
// dist/licenses.txt lists every bundled third-party package with its licence text (ncc's license
// file). Assets that are programs for another platform are left out: ssh2's util/pagent.exe (the
// Windows Pageant helper, run only for `agent: 'pageant'`, which no action uses); any other
// executable or native addon among the assets fails the bundle, so none ships unnoticed.
// With TITAN_BUNDLE_CHECK=committed (release.yml's rebuild), the bundle must be the committed dist/:
// a difference fails this action's task at once, naming the action and the files that differ, so
// the rebuild stops at the first bundle that is out of date.
// Usage: node scripts/bundle-action.mjs <action dir>
import ncc from '@vercel/ncc';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve, dirname, relative } from 'node:path';

const BANNER = [
  "import { createRequire as __titanCreateRequire } from 'node:module';",
  "import { fileURLToPath as __titanFileURLToPath } from 'node:url';",
  "import { dirname as __titanDirname } from 'node:path';",
  'const require = __titanCreateRequire(import.meta.url);',
  'const __filename = __titanFileURLToPath(import.meta.url);',
  'const __dirname = __titanDirname(__filename);',
  '',
].join('\n');

const actionDir = resolve(process.argv[2] ?? '.');
const entry = join(actionDir, 'lib', 'index.js');
const out = join(actionDir, 'dist');

const { code, assets } = await ncc(entry, {
  minify: false,
  sourceMap: false,
  quiet: true,
  target: 'es2023',
  externals: [],
  license: 'licenses.txt',
});
const LEFT_OUT = new Set(['pagent.exe']);
const PLATFORM_BINARY = /\.(exe|dll|so|dylib|node)$/i;
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await writeFile(join(out, 'index.js'), BANNER + code);
for (const [name, asset] of Object.entries(assets ?? {})) {
  if (LEFT_OUT.has(name)) continue;
  if (PLATFORM_BINARY.test(name)) throw new Error(`${actionDir}: the bundle would ship the platform binary ${name}; leave it out or explain it in scripts/bundle-action.mjs`);
  const file = join(out, name);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, asset.source, { mode: asset.permissions });
}
await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');

if (process.env.TITAN_BUNDLE_CHECK === 'committed') {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: actionDir, encoding: 'utf8' }).trim();
  const action = relative(root, actionDir);
  const differ = execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--', out], { cwd: root, encoding: 'utf8' }).trimEnd();
  if (differ !== '') {
    const files = differ.split('\n').map((line) => line.slice(3));
    console.log(`::error file=${files[0]}::${action}: the committed dist/ is not what its sources build (${files.join(', ')} ${files.length === 1 ? 'differs' : 'differ'}); rebuild it with npx turbo run bundle and commit ${action}/dist`);
    process.exit(1);
  }
  console.log(`${action}: dist/ is the committed one`);
}
