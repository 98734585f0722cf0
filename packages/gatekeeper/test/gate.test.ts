import { describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { runGate } from '@titan/gatekeeper/gate';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLE_SOURCE, copyExample, editFile, goodValues, lineOf, textMatching, valuesSource } from './release-fixture.js';

describe('runGate on examples/titan', () => {
  it('passes the sample release with good production values; CI is skipped with a warning when no token is given', async () => {
    const logger = recordingLogger();
    const report = await runGate({ source: EXAMPLE_SOURCE, pathRoot: EXAMPLE_SOURCE, values: [valuesSource(goodValues())], logger });
    expect(report.findings).toEqual([
      expect.objectContaining({ check: 'ci', severity: 'warning', file: null, line: null, message: 'CI status was not checked: no github-token was given' }),
    ]);
    expect(report.ready).toBe(true);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['ci', 'skipped'],
      ['source', 'passed'],
      ['production-values', 'passed'],
      ['compose', 'passed'],
      ['stack', 'passed'],
      ['migrations', 'passed'],
      ['policy', 'passed'],
      ['lockfiles', 'passed'],
    ]);
    expect(logger.text()).toContain('docker-compose.yml + docker-compose.prod.yml: 17 service(s), 0 finding(s)');
    expect(logger.text()).toContain('7 build context(s), 1 of them Node services (a package.json): 0 finding(s)');
  });

  it('refuses a stack profile that does not describe the compose services, each problem at its line, and a missing one', async () => {
    const { dir, cleanup } = await copyExample();
    try {
      const text = await editFile(join(dir, 'stack.yml'), (t) =>
        t.replace('infrastructure: [postgres, redis, ', 'infrastructure: [postgres, ').replace('responder: titan-brain', 'responder: titan-opsd'),
      );
      const gate = () => runGate({ source: dir, pathRoot: dir, values: [valuesSource(goodValues())], logger: recordingLogger() });
      const report = await gate();
      expect(report.ready).toBe(false);
      expect(report.findings.filter((f) => f.check === 'stack').map((f) => [f.file, f.line, f.message])).toEqual([
        ['stack.yml', lineOf(text, 'infrastructure: ['), 'infrastructure: service redis is in no group and not in infrastructure: say where it belongs'],
        ['stack.yml', lineOf(text, 'responder: titan-opsd'), 'halt.responder: titan-opsd is not in a trading group: the halt responder is the service that stops trading'],
      ]);
      expect(report.checks.find((c) => c.check === 'stack')).toMatchObject({ status: 'failed', errors: 2 });
      await rm(join(dir, 'stack.yml'));
      expect((await gate()).findings.filter((f) => f.check === 'stack')).toEqual([
        expect.objectContaining({ severity: 'error', file: 'stack.yml', line: null, message: textMatching(/^stack\.yml is missing: the release does not say how its services stop/) }),
      ]);
    } finally {
      await cleanup();
    }
  });
});
