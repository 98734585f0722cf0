#!/usr/bin/env node
// Regenerates the inputs and outputs tables of every action README from its action.yml, between
// the markers <!-- inputs:start --> / <!-- inputs:end --> and <!-- outputs:start --> / <!-- outputs:end -->.
// With --check, changes nothing and fails when a README is out of date.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { actionDirs } from './actions.mjs';

const check = process.argv.includes('--check');
let stale = 0;

function cell(text) {
  return String(text ?? '').replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ').trim();
}

function table(kind, entries) {
  if (kind === 'inputs') {
    const rows = Object.entries(entries ?? {}).map(
      ([name, spec]) =>
        `| \`${name}\` | ${spec.required ? 'yes' : 'no'} | ${spec.default === undefined || spec.default === '' ? '' : `\`${cell(spec.default)}\``} | ${cell(spec.description)} |`,
    );
    return ['| name | required | default | description |', '| --- | --- | --- | --- |', ...rows].join('\n');
  }
  const rows = Object.entries(entries ?? {}).map(([name, spec]) => `| \`${name}\` | ${cell(spec.description)} |`);
  return ['| name | description |', '| --- | --- |', ...rows].join('\n');
}

for (const dir of actionDirs()) {
  const readmePath = join(dir, 'README.md');
  if (!existsSync(readmePath)) {
    console.error(`${readmePath}: missing`);
    stale++;
    continue;
  }
  const action = parse(readFileSync(join(dir, 'action.yml'), 'utf8'));
  const before = readFileSync(readmePath, 'utf8');
  let after = before;
  for (const kind of ['inputs', 'outputs']) {
    const start = `<!-- ${kind}:start -->`;
    const end = `<!-- ${kind}:end -->`;
    const from = after.indexOf(start);
    const to = after.indexOf(end);
    if (from === -1 || to === -1 || to < from) {
      console.error(`${readmePath}: no ${start} ... ${end} markers`);
      stale++;
      continue;
    }
    after = `${after.slice(0, from + start.length)}\n${table(kind, action[kind])}\n${after.slice(to)}`;
  }
  if (after !== before) {
    if (check) {
      console.error(`${readmePath}: tables differ from action.yml (run: node scripts/action-readme.mjs)`);
      stale++;
    } else {
      writeFileSync(readmePath, after);
      console.log(`${readmePath}: tables regenerated`);
    }
  }
}
process.exit(stale === 0 ? 0 : 1);
