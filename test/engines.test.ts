import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';

/**
 * `engines` agree with what runs and with what the dependencies require: every workspace declares
 * the Node it needs, the actions run on what they declare (runs.using node24), and every package
 * the lockfile installs for them supports every Node version the workspaces declare.
 */
interface LockPackage {
  name?: string;
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
  link?: boolean;
}

const lock = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
const root = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string }; workspaces: string[] };
// Workspace folders of the lockfile that are packages (a bundle's dist/package.json only says "type").
const workspaces = Object.entries(lock.packages)
  .filter(([p, info]) => p !== '' && !p.includes('node_modules/') && info.name !== undefined)
  .map(([p]) => p);

function declared(path: string): string {
  const manifest = JSON.parse(readFileSync(join(REPOSITORY_ROOT, path, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const range = manifest.engines?.node;
  if (range === undefined) throw new Error(`${path}/package.json declares no engines.node`);
  return range;
}

describe('engines', () => {
  it('every workspace declares the Node the repository declares', () => {
    expect(workspaces.length).toBeGreaterThan(10);
    expect(root.engines?.node).toBeDefined();
    for (const workspace of workspaces) expect(declared(workspace), workspace).toBe(root.engines?.node);
  });

  it('the actions run on a Node that the declared range holds (runs.using)', () => {
    for (const workspace of workspaces.filter((w) => w.startsWith('action-'))) {
      const action = parse(readFileSync(join(REPOSITORY_ROOT, workspace, 'action.yml'), 'utf8')) as { runs: { using: string } };
      const major = /^node(\d+)$/.exec(action.runs.using)?.[1];
      expect(major, `${workspace}: runs.using ${action.runs.using}`).toBeDefined();
      expect(semver.satisfies(`${major ?? '0'}.0.0`, declared(workspace)), workspace).toBe(true);
    }
  });

  it('every installed dependency supports every Node version the repository declares', () => {
    const range = root.engines?.node ?? '';
    const refusing: string[] = [];
    for (const [path, info] of Object.entries(lock.packages)) {
      if (!path.includes('node_modules/') || info.link === true) continue;
      const node = Array.isArray(info.engines) ? undefined : info.engines?.node;
      if (node === undefined || semver.validRange(node) === null) continue;
      if (!semver.subset(range, node)) refusing.push(`${path.replace(/^.*node_modules\//, '')}@${info.version ?? '?'} needs node ${node}${info.dev === true ? ' (dev)' : ''}`);
    }
    expect(refusing).toEqual([]);
  });
});
