import { describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { runGate } from '@titan/gatekeeper/gate';
import { EXAMPLE_SOURCE, goodValues, valuesSource } from './release-fixture.js';

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
      ['production-values', 'passed'],
      ['compose', 'passed'],
      ['migrations', 'passed'],
      ['policy', 'passed'],
      ['lockfiles', 'passed'],
    ]);
    expect(logger.text()).toContain('docker-compose.yml + docker-compose.prod.yml: 17 service(s), 0 finding(s)');
    expect(logger.text()).toContain('7 build context(s), 1 of them Node services (a package.json): 0 finding(s)');
  });
});
