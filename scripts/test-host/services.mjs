#!/usr/bin/env node
// Reads examples/titan/services.yml for scripts/test-host/up and prints one line per image:
//   service <TAB> image <TAB> context <TAB> dockerfile [<TAB> KEY=VALUE ...]
// With --secret-files it prints instead one line per secret file of the release's compose files
// (top-level `secrets:` with a `file:` source under ../shared/, see packages/release/src/stack-secrets.ts):
//   path under the app dir (shared/secrets/<name>) <TAB> the production variable it holds
// It parses with the `yaml` package from the repository's node_modules when that is installed, and
// otherwise with a strict parser for the subset services.yml uses (so `up` works before `npm ci`).
// Anything it does not understand is an error naming the line, never a guess.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const secretMode = process.argv[2] === '--secret-files';
const file = process.argv[secretMode ? 3 : 2];
if (!file) {
  process.stderr.write('usage: services.mjs [--secret-files] SERVICES_YML\n');
  process.exit(64);
}
const text = readFileSync(file, 'utf8');

async function parseWithYamlPackage(source) {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  let resolved;
  try {
    resolved = createRequire(path.join(repo, 'package.json')).resolve('yaml');
  } catch {
    return undefined;
  }
  const yaml = await import(pathToFileURL(resolved).href);
  return yaml.parse(source);
}

// --- Strict parser for the subset: comments, `key: scalar`, nested mappings by indentation,
// block sequences of mappings (`- key: value`) or of scalars (`- value`), flow sequences and flow mappings of scalars.
function fail(lineNo, message) {
  throw new Error(`${file}:${lineNo}: ${message}`);
}

function stripComment(line) {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

function scalar(raw, lineNo) {
  const s = raw.trim();
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) fail(lineNo, `unterminated string ${s}`);
    return JSON.parse(s);
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) fail(lineNo, `unterminated string ${s}`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s === '' || /^[[\]{}&*!|>%@`]/.test(s) || /:\s|\s#/.test(s)) fail(lineNo, `unsupported value ${JSON.stringify(s)}`);
  return s;
}

function splitFlow(inner, lineNo) {
  const parts = [];
  let quote = '';
  let current = '';
  for (const c of inner) {
    if (quote) {
      if (c === quote) quote = '';
      current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      current += c;
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else if ('[]{}'.includes(c)) {
      fail(lineNo, 'nested flow collections are not supported');
    } else {
      current += c;
    }
  }
  if (quote) fail(lineNo, 'unterminated string');
  if (current.trim() !== '') parts.push(current);
  return parts;
}

function value(raw, lineNo) {
  const s = raw.trim();
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) fail(lineNo, 'flow sequence must end on the same line');
    return splitFlow(s.slice(1, -1), lineNo).map((p) => scalar(p, lineNo));
  }
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) fail(lineNo, 'flow mapping must end on the same line');
    const out = {};
    for (const part of splitFlow(s.slice(1, -1), lineNo)) {
      const m = /^\s*([A-Za-z0-9_.-]+)\s*:\s(.*)$/.exec(part);
      if (!m) fail(lineNo, `bad flow mapping entry ${JSON.stringify(part.trim())}`);
      out[m[1]] = scalar(m[2], lineNo);
    }
    return out;
  }
  return scalar(s, lineNo);
}

function parseStrict(source) {
  const lines = [];
  source.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) fail(i + 1, 'tabs are not allowed');
    const line = stripComment(raw).replace(/\s+$/, '');
    if (line.trim() === '') return;
    lines.push({ no: i + 1, indent: line.length - line.trimStart().length, text: line.trim() });
  });
  let pos = 0;

  function parseMapping(indent) {
    const out = {};
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith('- ')) {
      const { no, text } = lines[pos];
      const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(text);
      if (!m) fail(no, `expected "key: value", got ${JSON.stringify(text)}`);
      if (m[1] in out) fail(no, `duplicate key ${m[1]}`);
      pos++;
      if (m[2] !== undefined) {
        out[m[1]] = value(m[2], no);
      } else if (pos < lines.length && lines[pos].indent > indent) {
        out[m[1]] = lines[pos].text.startsWith('- ') ? parseSequence(lines[pos].indent) : parseMapping(lines[pos].indent);
      } else if (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith('- ')) {
        out[m[1]] = parseSequence(indent);
      } else {
        out[m[1]] = null;
      }
    }
    if (pos < lines.length && lines[pos].indent > indent) fail(lines[pos].no, 'unexpected indentation');
    return out;
  }

  function parseSequence(indent) {
    const out = [];
    while (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith('- ')) {
      const { no, text } = lines[pos];
      // Re-read the item as a mapping whose first key sits two columns to the right.
      lines[pos] = { no, indent: indent + 2, text: text.slice(2).trimStart() };
      if (/^[A-Za-z0-9_.-]+:/.test(lines[pos].text)) {
        out.push(parseMapping(indent + 2));
      } else {
        out.push(value(lines[pos].text, no));
        pos++;
      }
    }
    return out;
  }

  const doc = parseMapping(0);
  if (pos < lines.length) fail(lines[pos].no, 'unexpected content');
  return doc;
}

function check(doc) {
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.images) || doc.images.length === 0) {
    throw new Error(`${file}: expected a non-empty "images" list`);
  }
  const seen = new Set();
  const rows = [];
  for (const [i, entry] of doc.images.entries()) {
    const where = `${file}: images[${i}]`;
    for (const key of ['service', 'image', 'context', 'dockerfile']) {
      if (typeof entry?.[key] !== 'string' || entry[key] === '') throw new Error(`${where}: "${key}" must be a non-empty string`);
    }
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(entry.service)) throw new Error(`${where}: bad service name ${entry.service}`);
    if (!/^[a-z0-9][a-z0-9_./-]*$/.test(entry.image)) throw new Error(`${where}: bad image name ${entry.image}`);
    if (seen.has(entry.service)) throw new Error(`${where}: duplicate service ${entry.service}`);
    seen.add(entry.service);
    const args = entry['build-args'] ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new Error(`${where}: "build-args" must be a mapping`);
    const fields = [entry.service, entry.image, entry.context, entry.dockerfile];
    for (const [k, v] of Object.entries(args)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`${where}: bad build-arg name ${k}`);
      if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${where}: build-arg ${k} must be a string`);
      fields.push(`${k}=${String(v)}`);
    }
    for (const f of fields) {
      if (/[\t\n\r]/.test(f)) throw new Error(`${where}: tab or newline in ${JSON.stringify(f)}`);
    }
    rows.push(fields.join('\t'));
  }
  return rows;
}

// The secret files of the compose files services.yml lists (release.compose): only files with a
// top-level `secrets:` are parsed (the overlay, within the strict subset).
async function secretFileRows(doc) {
  const compose = doc?.release?.compose;
  if (!Array.isArray(compose)) throw new Error(`${file}: release.compose must be a list`);
  const rows = [];
  for (const name of compose) {
    const composePath = path.join(path.dirname(file), String(name));
    const source = readFileSync(composePath, 'utf8');
    if (!/^secrets:/m.test(source)) continue;
    const parsed = (process.env.TITAN_SERVICES_PARSER === 'strict' ? undefined : await parseWithYamlPackage(source)) ?? parseStrict(source);
    for (const [secret, definition] of Object.entries(parsed.secrets ?? {})) {
      const where = `${composePath}: secrets.${secret}`;
      const source = definition?.file;
      const variable = definition?.['x-titan-variable'];
      if (typeof source !== 'string' || !/^\.\.\/shared\/[A-Za-z0-9._/-]+$/.test(source) || source.includes('/../')) throw new Error(`${where}: file must be ../shared/<path>`);
      if (typeof variable !== 'string' || !/^[A-Z_][A-Z0-9_]*$/.test(variable)) throw new Error(`${where}: x-titan-variable must name a production variable`);
      rows.push(`${source.slice(3)}\t${variable}`);
    }
  }
  return rows;
}

try {
  if (secretMode) {
    const doc = (process.env.TITAN_SERVICES_PARSER === 'strict' ? undefined : await parseWithYamlPackage(text)) ?? parseStrict(text);
    const rows = await secretFileRows(doc);
    process.stdout.write(rows.length === 0 ? '' : rows.join('\n') + '\n');
    process.exit(0);
  }
  // TITAN_SERVICES_PARSER=strict forces the fallback parser (to test it where yaml is installed).
  const doc = (process.env.TITAN_SERVICES_PARSER === 'strict' ? undefined : await parseWithYamlPackage(text)) ?? parseStrict(text);
  process.stdout.write(check(doc).join('\n') + '\n');
} catch (error) {
  process.stderr.write(`services.mjs: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
