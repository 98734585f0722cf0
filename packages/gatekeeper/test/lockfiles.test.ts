/**
 * The lockfile check on the sample release's Node service (examples/titan/images/titan-console-api,
 * whose Docker build runs `npm ci`): in sync as committed; out of sync in every way npm ci refuses,
 * each finding naming the file and the fix, and the real npm on this machine refusing the same
 * folder (`npm ci --offline`, which checks package.json against the lockfile before it fetches).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLockfiles } from '@titan/gatekeeper/lockfiles';
import { DisplayPaths } from '@titan/gatekeeper/display-path';
import { runGate } from '@titan/gatekeeper/gate';
import { recordingLogger } from '@titan/log/logger';
import { EXAMPLE_SOURCE, copyExample, goodValues, valuesSource } from './release-fixture.js';

const SERVICE = 'images/titan-console-api';
let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

async function example(): Promise<string> {
  const copy = await copyExample();
  cleanups.push(copy.cleanup);
  return copy.dir;
}

async function lockFindings(source: string) {
  const report = await runGate({ source, pathRoot: source, values: [valuesSource(goodValues())], logger: recordingLogger() });
  return report.findings.filter((f) => f.check === 'lockfiles');
}

/** What the real npm says of the folder (no network: it checks the lockfile first). */
function npmCi(dir: string): { status: number | null; output: string } {
  const run = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--dry-run'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_cache: join(dir, '.npm-cache'), npm_config_update_notifier: 'false' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** `npm install --package-lock-only` as a developer runs it (offline: file: dependencies only). */
function npmInstallLockOnly(dir: string): number | null {
  return spawnSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_cache: join(dir, '.npm-cache'), npm_config_update_notifier: 'false' },
  }).status;
}

async function editJson(path: string, change: (value: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  change(value);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

describe('lockfiles of the Node services', () => {
  it('the sample release has one Node service, in sync: no finding, and npm ci accepts it', async () => {
    const { findings, nodeServices } = await checkLockfiles([{ dir: join(EXAMPLE_SOURCE, SERVICE), services: ['titan-console-api'] }, { dir: join(EXAMPLE_SOURCE, 'images/titan-service'), services: ['titan-hunter'] }], new DisplayPaths(EXAMPLE_SOURCE));
    expect(nodeServices).toBe(1);
    expect(findings).toEqual([]);
    const dir = join(await example(), SERVICE);
    expect(npmCi(dir).status).toBe(0);
  });

  it('a dependency added to package.json but not to the lockfile, and one whose spec changed since the lockfile was made', async () => {
    const source = await example();
    const dir = join(source, SERVICE);
    for (const name of ['helper', 'helper2']) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, 'package.json'), JSON.stringify({ name: 'helper', version: '1.0.0' }));
    }
    await editJson(join(dir, 'package.json'), (p) => (p['dependencies'] = { helper: 'file:helper' }));
    expect(await lockFindings(source)).toEqual([
      {
        check: 'lockfiles',
        severity: 'error',
        file: `${SERVICE}/package-lock.json`,
        line: null,
        message: 'package-lock.json of titan-console-api is out of sync with its package.json, so `npm ci` in its Docker build would refuse it: helper@file:helper is in package.json but not in the lockfile',
        fix: `Run \`npm install\` in ${SERVICE} and commit the package-lock.json it writes`,
      },
    ]);
    let npm = npmCi(dir);
    expect(npm.status).not.toBe(0);
    expect(npm.output).toContain('can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync');

    // As `npm install` writes it: in sync (npm ci agrees); then package.json moves on alone.
    expect(npmInstallLockOnly(dir)).toBe(0);
    expect(await lockFindings(source)).toEqual([]);
    expect(npmCi(dir).status).toBe(0);
    await editJson(join(dir, 'package.json'), (p) => (p['dependencies'] = { helper: 'file:helper2' }));
    expect((await lockFindings(source)).map((f) => f.message)).toEqual([expect.stringContaining('package.json asks for helper@file:helper2, the lockfile was made for helper@file:helper')]);
    npm = npmCi(dir);
    expect(npm.status).not.toBe(0);
    expect(npm.output).toContain('are in sync');

    // A dependency package.json dropped but the lockfile still lists: npm ci accepts it, the gate warns.
    await editJson(join(dir, 'package.json'), (p) => (p['dependencies'] = {}));
    expect(npmCi(dir).status).toBe(0);
    expect((await lockFindings(source)).map((f) => [f.severity, f.message])).toEqual([
      ['warning', 'package-lock.json of titan-console-api is stale (`npm ci` accepts it, and installs what package.json no longer asks for): the lockfile still lists helper@file:helper, which package.json no longer has'],
    ]);
  });

  it("a range the locked version does not satisfy (npm ci: \"Invalid: lock file's x@6.3.1 does not satisfy x@^7.0.0\")", async () => {
    const source = await example();
    const dir = join(source, SERVICE);
    await editJson(join(dir, 'package.json'), (p) => (p['dependencies'] = { semver: '^7.0.0' }));
    await editJson(join(dir, 'package-lock.json'), (lock) => {
      const packages = lock['packages'] as Record<string, Record<string, unknown>>;
      const root = packages[''] ?? {};
      root['dependencies'] = { semver: '^7.0.0' };
      packages['node_modules/semver'] = { version: '6.3.1', resolved: 'https://registry.npmjs.org/semver/-/semver-6.3.1.tgz', license: 'ISC' };
    });
    expect((await lockFindings(source)).map((f) => f.message)).toEqual([expect.stringContaining("the lockfile's semver@6.3.1 does not satisfy semver@^7.0.0 from package.json")]);
  });

  it('no lockfile at all, or one that is not JSON', async () => {
    const source = await example();
    const dir = join(source, SERVICE);
    await rm(join(dir, 'package-lock.json'));
    expect((await lockFindings(source)).map((f) => [f.file, f.message])).toEqual([
      [`${SERVICE}/package.json`, 'titan-console-api has a package.json but no package-lock.json: `npm ci` in its Docker build refuses to install without one'],
    ]);
    expect(npmCi(dir).status).not.toBe(0);
    await writeFile(join(dir, 'package-lock.json'), '{ not json');
    expect((await lockFindings(source))[0]?.message).toMatch(/^the lockfile of titan-console-api is not JSON/);
  });
});
