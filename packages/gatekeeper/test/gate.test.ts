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
      ['secrets', 'passed'],
      ['stack', 'passed'],
      ['migrations', 'passed'],
      ['policy', 'passed'],
      ['lockfiles', 'passed'],
    ]);
    expect(logger.text()).toContain('docker-compose.yml + docker-compose.prod.yml + docker-compose.secrets.yml: 17 service(s), 0 finding(s)');
    expect(logger.text()).toContain('4 secret(s) the services read as files (binance_api_key, binance_api_secret, bybit_api_key, bybit_api_secret): 0 finding(s)');
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

  it('takes each health port from its service\'s PORT in the compose files, and refuses a second port that disagrees, a port neither writes, one not published', async () => {
    const { dir, cleanup } = await copyExample();
    try {
      const stack = await editFile(join(dir, 'stack.yml'), (t) =>
        t
          .replace('{ service: titan-brain, path: /health', '{ service: titan-brain, port: 3101, path: /health')
          .replace('{ service: titan-execution, path: /health', '{ service: titan-execution, port: 3002, path: /health')
      );
      await editFile(join(dir, 'docker-compose.yml'), (t) => t.replace('      PORT: "8083"\n', '      PORT: "8093"\n').replace('      PORT: "8222"\n', ''));
      const report = await runGate({ source: dir, pathRoot: dir, values: [valuesSource(goodValues())], logger: recordingLogger() });
      expect(report.ready).toBe(false);
      // titan-execution's port written in both places, the same: accepted.
      expect(report.findings.filter((f) => f.check === 'stack').map((f) => [f.file, f.line, f.message])).toEqual([
        ['stack.yml', lineOf(stack, 'service: titan-brain, port: 3101'), 'health[0].port: is 3101, but the compose files set PORT 3100 for titan-brain: write the port once, in the compose file, and leave port out here'],
        [
          'stack.yml',
          lineOf(stack, 'service: titan-hunter'),
          'health[6].service: titan-hunter does not publish container port 8093 in its compose files (ports: "127.0.0.1:<host port>:8093"): verify reaches a health endpoint through the port Docker publishes on the host\'s loopback',
        ],
        ['stack.yml', lineOf(stack, 'service: nats, path'), 'health[10]: has no port, and nats sets no PORT in its compose environment: write the container port its health endpoint listens on (port: N)'],
      ]);
    } finally {
      await cleanup();
    }
  });

  it('checks the secrets overlay: undeclared, outside shared/, inline, no or an undeclared variable, the value referenced elsewhere, a _FILE path to no mount; each at its line, never a value', async () => {
    const { dir, cleanup } = await copyExample();
    try {
      const overlay = await editFile(join(dir, 'docker-compose.secrets.yml'), (t) =>
        t
          .replace('secrets: [binance_api_key, binance_api_secret]\n', 'secrets: [binance_api_key, binance_api_secret, exchange_token]\n')
          .replace('      BINANCE_API_SECRET_FILE: /run/secrets/binance_api_secret\n    secrets: [binance_api_key, binance_api_secret, exchange_token]', '      BINANCE_API_SECRET_FILE: /run/secrets/binance_api_secret\n      BYBIT_API_KEY_FILE: /run/secrets/bybit_api_key\n    secrets: [binance_api_key, binance_api_secret, exchange_token]')
          .replace('file: ../shared/secrets/bybit_api_key', 'file: /opt/titan/shared/secrets/bybit_api_key')
          .replace('file: ../shared/secrets/bybit_api_secret', 'file: ../config/bybit_api_secret')
          .replace('    x-titan-variable: BINANCE_API_SECRET\n', '')
          .concat('  inline_token:\n    environment: TITAN_MASTER_PASSWORD\n    x-titan-variable: EXCHANGE_TOKEN\n'),
      );
      const base = await editFile(join(dir, 'docker-compose.yml'), (t) => t.replace('      PORT: "8083"\n', '      PORT: "8083"\n      BINANCE_KEY: ${BINANCE_API_KEY:?BINANCE_API_KEY must be set}\n'));
      const values = goodValues();
      const logger = recordingLogger();
      const report = await runGate({ source: dir, pathRoot: dir, values: [valuesSource({ ...values, BYBIT_API_KEY: '__CHANGE_ME__' })], logger });
      expect(report.ready).toBe(false);
      const file = 'docker-compose.secrets.yml';
      expect(report.findings.filter((f) => f.check === 'secrets').map((f) => [f.severity, f.file, f.line, f.message])).toEqual([
        ['error', file, lineOf(overlay, 'exchange_token]'), 'titan-hunter mounts the secret exchange_token, which no Compose file declares under the top-level secrets:'],
        ['error', file, lineOf(overlay, 'binance_api_secret:', 'file: ../shared/secrets/binance_api_key'), 'secret binance_api_secret does not name the production value it holds (x-titan-variable)'],
        ['error', file, lineOf(overlay, 'file: /opt/titan'), "secret bybit_api_key's file /opt/titan/shared/secrets/bybit_api_key does not lie under the host's shared/ folder (sources are relative to the project directory <app>/current)"],
        ['error', file, lineOf(overlay, 'file: ../config'), "secret bybit_api_secret's file ../config/bybit_api_secret does not lie under the host's shared/ folder (sources are relative to the project directory <app>/current)"],
        ['error', file, lineOf(overlay, 'environment: TITAN_MASTER_PASSWORD'), 'secret inline_token takes its value from `environment:`, inline in the Compose model, where `docker compose config` shows it'],
        ['error', file, lineOf(overlay, 'x-titan-variable: EXCHANGE_TOKEN'), 'secret inline_token holds EXCHANGE_TOKEN, which production.env.template does not declare'],
        ['warning', file, lineOf(overlay, 'inline_token:'), 'secret inline_token is declared but no service mounts it'],
        ['error', 'docker-compose.yml', lineOf(base, 'BINANCE_KEY:'), 'BINANCE_API_KEY, which the secret file binance_api_key holds, is also referenced here: its value would reach the container as text (docker inspect and docker compose config show it)'],
        ['error', file, lineOf(overlay, 'BYBIT_API_KEY_FILE: /run/secrets/bybit_api_key', 'titan-hunter'), "titan-hunter's BYBIT_API_KEY_FILE points at /run/secrets/bybit_api_key, a secret the service does not mount"],
      ]);
      // The value a secret file holds is a production value: a placeholder there is refused, by name.
      expect(report.findings.filter((f) => f.check === 'production-values' && f.message.includes('BYBIT_API_KEY'))).toEqual([expect.objectContaining({ severity: 'error' })]);
      expect(report.checks.find((c) => c.check === 'secrets')).toMatchObject({ status: 'failed', errors: 8, warnings: 1 });
      const shown = JSON.stringify(report.findings) + logger.text();
      for (const value of Object.values(values).filter((v) => v.length >= 8)) expect(shown).not.toContain(value);
    } finally {
      await cleanup();
    }
  });
});
