/**
 * The host-side search for secret file contents (scripts/secret-exposure.sh), run in a temporary
 * application folder with a stub `docker` on PATH and a stand-in for `docker compose`: every place it
 * searches is reported by secret file and place, never with the content; the compose model is made
 * again only when one of its inputs changed since a search of it found nothing.
 */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRecord } from '@titan/host/host-record';
import { localHost } from './support/local-host.js';

const host = localHost('titan-secret-exposure-');
const secret = 'b1n4nc3-k3y-0f-th3-t3st';
const other = 'bybit-secret-nowhere-to-be-found';
const release = join(host.layout.releasesDir, 'r1');
const secrets = join(host.layout.sharedDir, 'secrets');
const configFile = join(host.root, 'config.yml');
const configRuns = join(host.root, 'config-runs');
const searchedRecord = join(host.layout.stateDir, 'compose-model-searched');
const CONTAINER = 'c0ffee123456aa';
// The compose command is the rest of the arguments (`config` is appended by the script): a stand-in
// that counts its runs and prints config.yml.
const compose = ['sh', '-c', 'echo run >> "$1"; cat "$0"', configFile, configRuns];

function run(paths: readonly string[]): string[] {
  const result = host.run('titan-secret-exposure', ['r1', 'titan', String(paths.length), ...paths, ...compose]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).not.toContain(secret);
  expect(result.stdout).not.toContain(other);
  return result.stdout.split('\n').filter((l) => l !== '');
}

function configRunCount(): number {
  try {
    return readFileSync(configRuns, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

const leakFile = join(host.root, 'leak');

/** The docker of the host: one container of the project, whose environment, image labels and log hold the text of leakFile. */
function stubDocker(version = 1): void {
  host.stub(
    'docker',
    `# version ${version}
leak=$(cat '${leakFile}')
case "$1 $2" in
  "ps -aq") echo ${CONTAINER} ;;
  "inspect --format")
    case "$3" in
      *com.docker.compose.service*) printf 'titan-hunter (c0ffee123456)\\t{"a":"b"}\\t["KEY=%s"]\\n' "$leak" ;;
      *) echo sha256:1111222233334444 ;;
    esac ;;
  "image inspect") printf 'sha256:111122223333\\t{"leak":"%s"}\\n' "$leak" ;;
  "logs ${CONTAINER}") echo "starting with $leak" ;;
  *) echo "unexpected docker $*" >&2; exit 9 ;;
esac`,
  );
}

/** What the containers, their images and their logs hold from now on. */
function leak(text: string): void {
  writeFileSync(leakFile, text);
}

beforeAll(() => {
  stubDocker();
  mkdirSync(secrets, { recursive: true });
  mkdirSync(join(release, 'config'), { recursive: true });
  writeFileSync(join(secrets, 'binance_api_key'), secret, { mode: 0o600 });
  writeFileSync(join(secrets, 'bybit_api_secret'), `${other}\n`, { mode: 0o600 });
  writeFileSync(join(release, 'docker-compose.yml'), 'services: {}\n');
});

afterAll(() => host.remove());

describe('titan-secret-exposure', () => {
  it("reports each place a secret file's content is found (release file, compose config, container, image, log) and a file it cannot search, never the content", () => {
    writeFileSync(join(secrets, 'blank'), 'x\n\ny\n', { mode: 0o600 });
    writeFileSync(join(release, 'config', 'leak.json'), `{"key":"${secret}"}\n`);
    writeFileSync(configFile, `services:\n  titan-hunter:\n    environment:\n      KEY: ${secret}\n`);
    leak(secret);
    const lines = run(['shared/secrets/binance_api_key', 'shared/secrets/bybit_api_secret', 'shared/secrets/blank', 'shared/secrets/gone']);
    expect(lines.filter((l) => l.startsWith('titan:exposure\t')).sort()).toEqual([
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the labels of image sha256:111122223333'),
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the labels or environment of container titan-hunter (c0ffee123456)'),
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the log of container titan-hunter (c0ffee123456)'),
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the output of docker compose config'),
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the release file releases/r1/config/leak.json'),
      formatRecord('exposure', 'shared/secrets/blank', 'holds an empty line, so it was not searched for'),
      formatRecord('exposure', 'shared/secrets/gone', 'cannot be read, so it was not searched for'),
    ]);
    expect(lines).toContain(formatRecord('searched', CONTAINER));
    // A model that held a secret is never taken as searched.
    expect(lines).not.toContain(formatRecord('compose-model', 'searched'));
    expect(() => statSync(searchedRecord)).toThrow();
    // Each container's log read once, by its full id.
    expect(host.calls('docker').filter((c) => c.startsWith('docker logs'))).toEqual([`docker logs ${CONTAINER}`]);
  });

  it('makes the compose model again only when one of its inputs changed since a search of it found nothing, and searches the containers every time', () => {
    writeFileSync(join(release, 'config', 'leak.json'), '{"key":"none"}\n');
    writeFileSync(configFile, 'services:\n  titan-hunter:\n    environment:\n      KEY_FILE: /run/secrets/binance_api_key\n');
    leak('nothing');
    const paths = ['shared/secrets/binance_api_key', 'shared/secrets/bybit_api_secret'];
    const before = configRunCount();
    expect(run(paths)).toEqual([formatRecord('compose-model', 'searched'), formatRecord('searched', CONTAINER)]);
    expect(configRunCount()).toBe(before + 1);
    expect((statSync(searchedRecord).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(searchedRecord, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);

    // Nothing changed: the model is not made again; the containers are still searched.
    expect(run(paths)).toEqual([formatRecord('compose-model', 'unchanged'), formatRecord('searched', CONTAINER)]);
    expect(configRunCount()).toBe(before + 1);
    leak(secret);
    expect(run(paths)).toEqual([
      formatRecord('compose-model', 'unchanged'),
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the labels or environment of container titan-hunter (c0ffee123456)'),
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the labels of image sha256:111122223333'),
      formatRecord('exposure', 'shared/secrets/binance_api_key', 'the log of container titan-hunter (c0ffee123456)'),
      formatRecord('searched', CONTAINER),
    ]);
    leak('nothing');

    // Each input changed in turn: a file under shared/ (the production values), a secret file, a
    // file of the release, the docker program, the session's environment: the model is made and searched again.
    const changes: [string, () => void, NodeJS.ProcessEnv?][] = [
      ['production values', () => writeFileSync(host.layout.envFile, 'A=1\n', { mode: 0o600 })],
      ['a secret file', () => writeFileSync(join(secrets, 'bybit_api_secret'), `${other}-rotated\n`, { mode: 0o600 })],
      ['a release file', () => writeFileSync(join(release, 'docker-compose.yml'), 'services: {x: {}}\n')],
      ['the docker program', () => stubDocker(2)],
    ];
    for (const [what, change] of changes) {
      const runs = configRunCount();
      change();
      expect(run(paths)[0], what).toBe(formatRecord('compose-model', 'searched'));
      expect(configRunCount(), what).toBe(runs + 1);
    }
    const runs = configRunCount();
    const changed = host.run('titan-secret-exposure', ['r1', 'titan', String(paths.length), ...paths, ...compose], { env: { COMPOSE_PROFILES: 'other' } });
    expect(changed.stdout.split('\n')[0]).toBe(formatRecord('compose-model', 'searched'));
    expect(configRunCount()).toBe(runs + 1);
    // A variable the compose files refer to is an input; the variables of one connection are not.
    writeFileSync(join(release, 'docker-compose.yml'), 'services: {x: {image: "busybox:${TAG}"}}\n');
    const withTag = (tag: string, extra: NodeJS.ProcessEnv = {}): string =>
      host.run('titan-secret-exposure', ['r1', 'titan', String(paths.length), ...paths, ...compose], { env: { COMPOSE_PROFILES: 'other', TAG: tag, ...extra } }).stdout.split('\n')[0] ?? '';
    expect(withTag('1')).toBe(formatRecord('compose-model', 'searched'));
    expect(withTag('1', { SSH_CLIENT: '127.0.0.1 40000 22', XDG_SESSION_ID: '812' })).toBe(formatRecord('compose-model', 'unchanged'));
    expect(withTag('2')).toBe(formatRecord('compose-model', 'searched'));
    expect(withTag('2')).toBe(formatRecord('compose-model', 'unchanged'));

    // The model itself now holds a secret: found, and never recorded as searched again.
    writeFileSync(configFile, `services:\n  titan-hunter:\n    command: ["--key", "${secret}"]\n`);
    writeFileSync(host.layout.envFile, 'A=2\n', { mode: 0o600 });
    expect(run(paths)).toContain(formatRecord('exposure', 'shared/secrets/binance_api_key', 'the output of docker compose config'));
    expect(run(paths)).toContain(formatRecord('exposure', 'shared/secrets/binance_api_key', 'the output of docker compose config'));
  });

  it('says when docker compose config fails, and searches the rest', () => {
    leak('nothing');
    writeFileSync(host.layout.envFile, 'A=3\n', { mode: 0o600 });
    const result = host.run('titan-secret-exposure', ['r1', 'titan', '1', 'shared/secrets/binance_api_key', 'sh', '-c', 'exit 3']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean)).toEqual([
      formatRecord('exposure', '-', 'docker compose config failed: its output was not searched'),
      formatRecord('searched', CONTAINER),
    ]);
    chmodSync(join(secrets, 'binance_api_key'), 0o600);
  });
});
