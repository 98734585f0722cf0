/**
 * actions/upload-artifact and actions/download-artifact, locally: the run's artifacts live in a
 * folder (ArtifactStore) instead of GitHub's artifact service, with the real actions' layout rules:
 * an upload's files keep their paths below the least common ancestor of what `path` matched,
 * hidden files are left out unless asked, a download by name lands in `path`, a download of
 * several artifacts lands in `path/<name>/` unless `merge-multiple`.
 */
import { glob, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ArtifactStore } from './artifact-store.js';
import { booleanInput, listInput, type StandIn, type StandInContext, StepFailure } from './stand-in.js';

async function filesUnder(dir: string, hidden: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!hidden && entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path, hidden)));
    else out.push(path);
  }
  return out;
}

function commonAncestor(paths: string[]): string {
  const parts = paths.map((p) => p.split(sep));
  const first = parts[0] ?? [];
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

async function matched(context: StandInContext, patterns: string[], hidden: boolean): Promise<{ root: string; files: string[] }> {
  const files = new Set<string>();
  const searchRoots: string[] = [];
  for (const pattern of patterns) {
    const absolute = isAbsolute(pattern) ? pattern : resolve(context.workspace, pattern);
    if (/[*?[]/.test(pattern)) {
      searchRoots.push(absolute.split(/[*?[]/)[0]?.replace(/\/[^/]*$/, '') ?? absolute);
      for await (const hit of glob(absolute)) {
        const info = await stat(hit);
        if (info.isDirectory()) for (const f of await filesUnder(hit, hidden)) files.add(f);
        else files.add(hit);
      }
      continue;
    }
    let info;
    try {
      info = await stat(absolute);
    } catch {
      continue;
    }
    if (info.isDirectory()) {
      searchRoots.push(absolute);
      for (const f of await filesUnder(absolute, hidden)) files.add(f);
    } else {
      searchRoots.push(dirname(absolute));
      files.add(absolute);
    }
  }
  const list = [...files].sort();
  const root = searchRoots.length === 0 ? context.workspace : commonAncestor(searchRoots);
  return { root, files: list.map((f) => relative(root, f)) };
}

export const uploadArtifactStandIn: StandIn = {
  uses: 'actions/upload-artifact',
  versions: ['v7'],
  inputs: ['name', 'path', 'if-no-files-found', 'retention-days', 'compression-level', 'overwrite', 'include-hidden-files'],
  outputs: ['artifact-id', 'artifact-url', 'artifact-digest'],
  does: "stores the files in the run's artifact folder instead of GitHub's artifact service (same names, layout and refusals)",
  async run(context): Promise<Record<string, string>> {
    const name = context.inputs['name'] || 'artifact';
    const patterns = listInput(context, 'path');
    if (patterns.length === 0) throw new StepFailure('Input required and not supplied: path');
    const ifNone = context.inputs['if-no-files-found'] || 'warn';
    if (!['warn', 'error', 'ignore'].includes(ifNone)) throw new StepFailure(`Unrecognized if-no-files-found input. Provided: ${ifNone}. Available options: warn, error, ignore`);
    const { root, files } = await matched(context, patterns, booleanInput(context, 'include-hidden-files', false));
    if (files.length === 0) {
      const message = `No files were found with the provided path: ${patterns.join(', ')}. No artifacts will be uploaded.`;
      if (ifNone === 'error') throw new StepFailure(message);
      context.log(ifNone === 'warn' ? `warning: ${message}` : message);
      return {};
    }
    const retention = context.inputs['retention-days'] || '90';
    if (!/^\d+$/.test(retention) || Number(retention) < 1 || Number(retention) > 90) throw new StepFailure(`retention-days must be a whole number from 1 to 90 (the repository's limit), got ${JSON.stringify(retention)}`);
    await context.artifacts.put(name, root, files, booleanInput(context, 'overwrite', false), Number(retention));
    context.log(`Artifact ${name} has been successfully uploaded (${files.length} files from ${root})`);
    return { 'artifact-id': String((await context.artifacts.names()).indexOf(name) + 1), 'artifact-url': `artifact://${name}`, 'artifact-digest': '' };
  },
};

export const downloadArtifactStandIn: StandIn = {
  uses: 'actions/download-artifact',
  versions: ['v8'],
  inputs: ['name', 'path', 'pattern', 'merge-multiple', 'github-token', 'repository', 'run-id'],
  outputs: ['download-path'],
  does: "copies artifacts of this run (or, with run-id and a github-token allowed actions: read, of another run of this repository) from the run's artifact folder (by name, or all / a pattern, merged or one folder each)",
  async run(context) {
    const path = resolve(context.workspace, context.inputs['path'] || '.');
    const name = context.inputs['name'] ?? '';
    const artifacts = await sourceRun(context);
    if (name !== '') {
      await artifacts.get(name, path);
      context.log(`Artifact ${name} downloaded to ${path}`);
      return { 'download-path': path };
    }
    const pattern = context.inputs['pattern'] ?? '';
    const matcher = pattern === '' ? undefined : new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    const names = (await artifacts.names()).filter((n) => matcher?.test(n) ?? true);
    const merge = booleanInput(context, 'merge-multiple', false);
    for (const each of names) await artifacts.get(each, merge ? path : join(path, each));
    context.log(`${names.length} artifact(s) downloaded to ${path}${merge ? ' (merged)' : ''}: ${names.join(', ')}`);
    return { 'download-path': path };
  },
};

/** The run whose artifacts are downloaded: this one, or run-id's (as v4+ needs: a token allowed to read actions). */
async function sourceRun(context: StandInContext): Promise<ArtifactStore> {
  const runId = context.inputs['run-id'] ?? '';
  const repository = context.inputs['repository'] ?? '';
  if (repository !== '' && repository !== context.repository.name) throw new StepFailure(`the local runner keeps the artifacts of ${context.repository.name} only, not ${repository}`);
  if (runId === '') return context.artifacts;
  if (!/^\d+$/.test(runId)) throw new StepFailure(`run-id must be a workflow run id, got ${JSON.stringify(runId)}`);
  const token = context.inputs['github-token'] ?? '';
  if (token === '') throw new StepFailure('run-id needs github-token: downloading the artifacts of another run goes through the API');
  if (!context.api.allows(token, 'actions', 'read', `download-artifact of run ${runId}`)) throw new StepFailure('Resource not accessible by integration: the github-token may not read actions (permissions: actions: read)');
  const store = await context.runArtifacts(Number(runId));
  if (store === undefined) throw new StepFailure(`Unable to download artifact(s): workflow run ${runId} not found in ${context.repository.name}`);
  context.log(`Artifacts of run ${runId}`);
  return store;
}
