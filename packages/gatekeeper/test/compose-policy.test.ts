import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@titan/log/logger';
import type { Finding } from '@titan/gatekeeper/finding';
import { runGate } from '@titan/gatekeeper/gate';
import { copyExample, editFile, goodValues, lineOf, removeServiceKey, replaceInService, valuesSource, textMatching, textContaining } from './release-fixture.js';

/**
 * Copies of examples/titan with one policy violation each: the gate names the check, the file and
 * the line where the offending value is set (or where the service is defined last, for something
 * missing).
 */
describe('compose policy on copies of examples/titan', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const base = () => join(dir, 'docker-compose.yml');
  const prod = () => join(dir, 'docker-compose.prod.yml');

  beforeEach(async () => {
    ({ dir, cleanup } = await copyExample());
  });
  afterEach(async () => cleanup());

  async function composeFindings(): Promise<Finding[]> {
    const report = await runGate({ source: dir, pathRoot: dir, values: [valuesSource(goodValues())], logger: silentLogger });
    const others = report.findings.filter((f) => f.check !== 'compose' && f.check !== 'ci');
    expect(others).toEqual([]);
    return report.findings.filter((f) => f.check === 'compose');
  }

  it('a service without a healthcheck: at the service in the production overlay, its last definition', async () => {
    await editFile(base(), (t) => removeServiceKey(t, 'titan-sentinel', 'healthcheck'));
    const text = await editFile(prod(), (t) => t);
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ severity: 'error', file: 'docker-compose.prod.yml', line: lineOf(text, '  titan-sentinel:'), message: 'titan-sentinel has no healthcheck' }),
    ]);
  });

  it('a healthcheck disabled in the overlay overrides the base one: at the disable line', async () => {
    const text = await editFile(prod(), (t) => replaceInService(t, 'titan-console', '    restart: unless-stopped\n', '    restart: unless-stopped\n    healthcheck:\n      disable: true\n'));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ file: 'docker-compose.prod.yml', line: lineOf(text, 'disable: true'), message: 'titan-console has its healthcheck disabled' }),
    ]);
  });

  it('a service without a restart policy', async () => {
    const text = await editFile(prod(), (t) => removeServiceKey(t, 'redis', 'restart'));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ severity: 'error', file: 'docker-compose.prod.yml', line: lineOf(text, '  redis:'), message: 'redis has no restart policy' }),
    ]);
  });

  it('restart: "no" is named at its line', async () => {
    const text = await editFile(prod(), (t) => replaceInService(t, 'titan-sentinel', 'restart: unless-stopped', 'restart: "no"'));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ file: 'docker-compose.prod.yml', line: lineOf(text, 'restart: "no"'), message: textContaining('titan-sentinel has restart: no') }),
    ]);
  });

  it('no logging at all: no log rotation, at the service', async () => {
    const text = await editFile(prod(), (t) => removeServiceKey(t, 'titan-opsd', 'logging'));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ file: 'docker-compose.prod.yml', line: lineOf(text, '  titan-opsd:'), message: 'titan-opsd has no log rotation' }),
    ]);
  });

  it('logging without max-size, and without max-file: at the options of that service', async () => {
    const text = await editFile(prod(), (t) =>
      replaceInService(replaceInService(t, 'postgres', '        max-size: "10m"\n', ''), 'grafana', '        max-file: "3"\n', ''),
    );
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ file: 'docker-compose.prod.yml', line: lineOf(text, 'options:', '  postgres:'), message: 'postgres has no log rotation: logging.options.max-size is not set' }),
      expect.objectContaining({ file: 'docker-compose.prod.yml', line: lineOf(text, 'options:', '  grafana:'), message: 'grafana has no log rotation: logging.options.max-file is not set' }),
    ]);
  });

  it('a logging driver changed in the overlay drops the base options (Compose merge rule)', async () => {
    await editFile(base(), (t) =>
      replaceInService(t, 'titan-ai-quant', '    stop_grace_period: 5s\n', '    stop_grace_period: 5s\n    logging:\n      driver: local\n      options: { max-size: "5m", max-file: "2" }\n'),
    );
    const text = await editFile(prod(), (t) => replaceInService(t, 'titan-ai-quant', '      driver: json-file\n      options:\n        max-size: "10m"\n        max-file: "3"\n', '      driver: json-file\n'));
    const findings = await composeFindings();
    expect(findings.map((f) => [f.file, f.line, f.message])).toEqual([
      ['docker-compose.prod.yml', lineOf(text, 'logging:', '  titan-ai-quant:'), 'titan-ai-quant has no log rotation: logging.options.max-size is not set'],
      ['docker-compose.prod.yml', lineOf(text, 'logging:', '  titan-ai-quant:'), 'titan-ai-quant has no log rotation: logging.options.max-file is not set'],
    ]);
  });

  it.each([
    ['postgres', '"5432:5432"'],
    ['redis', '"127.0.0.1:6379:6379"'],
    ['grafana', '"3001:3000"'],
    ['prometheus', '{ target: 9090, published: 9090, host_ip: 127.0.0.1 }'],
  ])('%s publishing a host port (%s), even on loopback, is an error at the ports entry', async (service, entry) => {
    const text = await editFile(prod(), (t) => replaceInService(t, service, '    restart: unless-stopped\n', `    restart: unless-stopped\n    ports:\n      - ${entry}\n`));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ severity: 'error', file: 'docker-compose.prod.yml', line: lineOf(text, `- ${entry}`), message: textMatching(new RegExp(`^${service} publishes port \\S+ on the host \\((every interface|127\\.0\\.0\\.1)\\)$`)) }),
    ]);
  });

  it.each([
    ['"0.0.0.0:4222:4222"', 'every interface'],
    ['"4222:4222"', 'every interface'],
    ['"203.0.113.7:4222:4222"', '203.0.113.7, a public address'],
  ])('nats published as %s is an error at that line', async (entry, where) => {
    const text = await editFile(prod(), (t) => replaceInService(t, 'nats', '"127.0.0.1:4222:4222"', entry));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ severity: 'error', file: 'docker-compose.prod.yml', line: lineOf(text, entry), message: `nats publishes port 4222->4222/tcp on ${where}: NATS must not face the internet` }),
    ]);
  });

  it('nats on a VPC address passes', async () => {
    await editFile(prod(), (t) => replaceInService(t, 'nats', '"127.0.0.1:4222:4222"', '"10.116.0.2:4222:4222"'));
    expect(await composeFindings()).toEqual([]);
  });

  it('a Titan service published on every interface is a warning, not a blocker', async () => {
    const text = await editFile(prod(), (t) => replaceInService(t, 'titan-brain', '"127.0.0.1:3100:3100"', '"3100:3100"'));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ severity: 'warning', file: 'docker-compose.prod.yml', line: lineOf(text, '"3100:3100"'), message: textContaining('titan-brain publishes port 3100->3100/tcp on every interface') }),
    ]);
  });

  it('build: in a production file', async () => {
    const text = await editFile(base(), (t) => replaceInService(t, 'titan-brain', '    depends_on:', '    build: ./images/titan-service\n    depends_on:'));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ severity: 'error', file: 'docker-compose.yml', line: lineOf(text, 'build: ./images/titan-service'), message: textContaining('titan-brain has build:') }),
    ]);
  });

  it('build: in the base file removed by !reset in the overlay passes', async () => {
    await editFile(base(), (t) => replaceInService(t, 'titan-brain', '    depends_on:', '    build: ./images/titan-service\n    depends_on:'));
    await editFile(prod(), (t) => replaceInService(t, 'titan-brain', '    restart: unless-stopped\n', '    restart: unless-stopped\n    build: !reset null\n'));
    expect(await composeFindings()).toEqual([]);
  });

  it.each([['${POSTGRES_PASSWORD}'], ['${POSTGRES_PASSWORD:-postgres}'], ['$POSTGRES_PASSWORD']])(
    'POSTGRES_PASSWORD referenced as %s (not fail-fast)',
    async (written) => {
      const text = await editFile(base(), (t) => t.replace('${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}', written));
      expect(await composeFindings()).toEqual([
        expect.objectContaining({
          severity: 'error',
          file: 'docker-compose.yml',
          line: lineOf(text, `POSTGRES_PASSWORD: ${written}`),
          message: textMatching(/^POSTGRES_PASSWORD is referenced as \$(\{POSTGRES_PASSWORD(:-\.\.\.)?\}|POSTGRES_PASSWORD), so a missing value/),
        }),
      ]);
    },
  );

  it('an unpinned image the release does not build, at its image line; pinned by digest, it passes', async () => {
    const service = (image: string) =>
      `  adminer:\n    image: ${image}\n    restart: unless-stopped\n    healthcheck:\n      test: ["CMD", "true"]\n    logging:\n      driver: json-file\n      options: { max-size: "10m", max-file: "3" }\n`;
    let text = await editFile(prod(), (t) => `${t.trimEnd()}\n\n${service('adminer:4.8.1')}`);
    // A new service is placed in the stack profile too (the stack check refuses one in no group).
    await editFile(join(dir, 'stack.yml'), (t) => t.replace('infrastructure: [postgres, ', 'infrastructure: [adminer, postgres, '));
    expect(await composeFindings()).toEqual([
      expect.objectContaining({ severity: 'error', file: 'docker-compose.prod.yml', line: lineOf(text, 'image: adminer:4.8.1'), message: 'adminer runs adminer:4.8.1, which is neither pinned by digest nor built by the release' }),
    ]);
    text = await editFile(prod(), (t) => t.replace('adminer:4.8.1', `adminer@sha256:${'ab'.repeat(32)}`));
    expect(text).toContain('@sha256:');
    expect(await composeFindings()).toEqual([]);
  });

  it('a services.yml entry with no Compose service is a warning at its line', async () => {
    const text = await editFile(join(dir, 'services.yml'), (t) => t.replace('- service: titan-opsd', '- service: titan-opsd-typo'));
    const findings = await composeFindings();
    expect(findings).toContainEqual(expect.objectContaining({ severity: 'warning', file: 'services.yml', line: lineOf(text, 'titan-opsd-typo') }));
    expect(findings).toContainEqual(expect.objectContaining({ severity: 'error', message: textContaining('titan-opsd runs 127.0.0.1:5000/titan/titan-opsd:latest, which is neither pinned') }));
  });

  it('an unparseable Compose file is one finding at the broken line', async () => {
    const text = await editFile(prod(), (t) => replaceInService(t, 'titan-brain', '    restart: unless-stopped\n', '    restart: unless-stopped\n   oops: [\n'));
    const findings = await composeFindings();
    expect(findings).toHaveLength(1);
    const line = lineOf(text, 'oops: [');
    expect(findings[0]).toMatchObject({ file: 'docker-compose.prod.yml', line, severity: 'error', message: `docker-compose.prod.yml:${line}: All mapping items must start at the same column` });
  });
});
