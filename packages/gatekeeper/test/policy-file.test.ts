import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@titan/log/logger';
import { runGate } from '@titan/gatekeeper/gate';
import { checkPolicyText } from '@titan/gatekeeper/policy-file';
import { copyExample, goodValues, lineOf, valuesSource, textMatching, textContaining } from './release-fixture.js';

describe('policy file on copies of examples/titan', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const policy = () => join(dir, 'config', 'policy.json');
  const policyFindings = async () => {
    const report = await runGate({ source: dir, pathRoot: dir, values: [valuesSource(goodValues())], logger: silentLogger });
    return report.findings.filter((f) => f.check === 'policy');
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await copyExample());
  });
  afterEach(async () => cleanup());

  it('the sample policy passes', async () => {
    expect(await policyFindings()).toEqual([]);
  });

  it('a missing policy file: a problem of services.yml at the line naming it, and the checks that need the file skipped', async () => {
    await rm(policy());
    const report = await runGate({ source: dir, pathRoot: dir, values: [valuesSource(goodValues())], logger: silentLogger });
    const services = await readFile(join(dir, 'services.yml'), 'utf8');
    expect(report.ready).toBe(false);
    expect(report.findings.filter((f) => f.check !== 'ci')).toEqual([
      expect.objectContaining({
        check: 'source',
        severity: 'error',
        file: 'services.yml',
        line: lineOf(services, 'policy: config/policy.json'),
        message: 'release.policy: config/policy.json does not exist (paths are relative to the folder of services.yml)',
      }),
    ]);
    expect(report.checks.find((c) => c.check === 'policy')?.status).toBe('skipped');
  });

  it('an unparseable policy file, at the line of the syntax error', async () => {
    const text = (await readFile(policy(), 'utf8')).replace('"maxDailyLossUsd": 750,', '"maxDailyLossUsd": 750');
    await writeFile(policy(), text);
    const findings = await policyFindings();
    expect(findings).toEqual([expect.objectContaining({ file: 'config/policy.json', line: lineOf(text, '"maxDrawdownPct"'), message: textMatching(/^The policy file is not valid JSON/) })]);
  });

  it('a policy that would start the stack armed, and one missing a limit', async () => {
    const text = (await readFile(policy(), 'utf8')).replace('"defaultMode": "DISARMED"', '"defaultMode": "ARMED"').replace('    "maxOrdersPerMinute": 30,\n', '');
    await writeFile(policy(), text);
    expect((await policyFindings()).map((f) => [f.line, f.message])).toEqual([
      [lineOf(text, '"defaultMode"'), `The policy's defaultMode must be "DISARMED": the stack is deployed disarmed and only an explicit, armed deploy arms it`],
      [lineOf(text, '"orders"'), 'The policy has no orders.maxOrdersPerMinute'],
    ]);
  });

  it('types are checked: a string where a number is needed, an empty list', () => {
    const text = JSON.stringify({ schemaVersion: 1, name: 'p', defaultMode: 'DISARMED', account: { maxGrossLeverage: '3' }, symbols: { allowed: [] } }, null, 2);
    const messages = checkPolicyText(text, 'p.json').map((f) => `${f.line}: ${f.message}`);
    expect(messages).toContain(`${lineOf(text, 'maxGrossLeverage')}: The policy's account.maxGrossLeverage must be a number above 0`);
    expect(messages).toContain(`${lineOf(text, '"allowed"')}: The policy's symbols.allowed must be a non-empty list of strings`);
    expect(messages).toContain(`${lineOf(text, '"account"')}: The policy has no account.maxDailyLossUsd`);
    expect(messages).toContain('1: The policy has no orders.maxOrderNotionalUsd');
  });

  it('a key given twice is refused at its second line', () => {
    const text = '{\n  "schemaVersion": 1,\n  "schemaVersion": 1\n}\n';
    expect(checkPolicyText(text, 'p.json')).toEqual([expect.objectContaining({ line: 3, message: textContaining('ambiguous') })]);
  });
});
