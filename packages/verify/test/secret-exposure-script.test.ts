/**
 * The host-side search for secret file contents (SECRET_EXPOSURE_SCRIPT), run in a temporary
 * application folder with a stub `docker` on PATH: every place it searches is reported by secret
 * file and place, and the output never holds the content. Shellcheck-clean POSIX sh.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SECRET_EXPOSURE_SCRIPT } from '@titan/verify/secret-exposure';

const root = mkdtempSync(join(tmpdir(), 'titan-secret-exposure-'));
const app = join(root, 'app');
const bin = join(root, 'bin');
const secret = 'b1n4nc3-k3y-0f-th3-t3st';
const other = 'bybit-secret-nowhere-to-be-found';

function setUp(): void {
  mkdirSync(join(app, 'shared', 'secrets'), { recursive: true });
  mkdirSync(join(app, 'releases', 'r1', 'config'), { recursive: true });
  mkdirSync(bin);
  writeFileSync(join(app, 'shared', 'secrets', 'binance_api_key'), secret, { mode: 0o600 });
  writeFileSync(join(app, 'shared', 'secrets', 'bybit_api_secret'), `${other}\n`, { mode: 0o600 });
  writeFileSync(join(app, 'shared', 'secrets', 'blank'), 'x\n\ny\n', { mode: 0o600 });
  writeFileSync(join(app, 'releases', 'r1', 'config', 'leak.json'), `{"key":"${secret}"}\n`);
  writeFileSync(join(app, 'releases', 'r1', 'docker-compose.yml'), 'services: {}\n');
  writeFileSync(join(root, 'config.yml'), `services:\n  titan-hunter:\n    environment:\n      KEY: ${secret}\n`);
  // A Docker with one container of the project: its environment, its image's labels and its log hold the secret.
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh
case "$1 $2" in
  "ps -aq") echo c0ffee123456aa ;;
  "inspect --format")
    case "$3" in
      *com.docker.compose.service*) printf 'titan-hunter (c0ffee123456)\\t{"a":"b"}\\t["KEY=${secret}"]\\n' ;;
      *) echo sha256:1111222233334444 ;;
    esac ;;
  "image inspect") printf 'sha256:111122223333\\t{"leak":"${secret}"}\\n' ;;
  "logs c0ffee123456aa") echo "starting with ${secret}" ;;
  *) echo "unexpected docker $*" >&2; exit 9 ;;
esac
`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('SECRET_EXPOSURE_SCRIPT', () => {
  setUp();

  it('is POSIX sh and shellcheck-clean', () => {
    const file = join(root, 'script.sh');
    writeFileSync(file, `#!/bin/sh\n${SECRET_EXPOSURE_SCRIPT}`);
    const run = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', file], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('reports each place a secret file\'s content is found (release file, compose config, container, image, log) and a file it cannot search, never the content', () => {
    const paths = ['shared/secrets/binance_api_key', 'shared/secrets/bybit_api_secret', 'shared/secrets/blank', 'shared/secrets/gone'];
    // The compose command is the rest of the arguments; `config` is appended by the script.
    const run = spawnSync('sh', ['-c', SECRET_EXPOSURE_SCRIPT, 'titan-secret-exposure', app, 'r1', 'titan', String(paths.length), ...paths, 'sh', '-c', 'cat "$0"', join(root, 'config.yml')], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').filter((l) => l !== '').sort()).toEqual([
      'shared/secrets/binance_api_key\tthe labels of image sha256:111122223333',
      'shared/secrets/binance_api_key\tthe labels or environment of container titan-hunter (c0ffee123456)',
      'shared/secrets/binance_api_key\tthe log of container titan-hunter (c0ffee123456)',
      'shared/secrets/binance_api_key\tthe output of docker compose config',
      'shared/secrets/binance_api_key\tthe release file releases/r1/config/leak.json',
      'shared/secrets/blank\tholds an empty line, so it was not searched for',
      'shared/secrets/gone\tcannot be read, so it was not searched for',
    ]);
    expect(run.stdout).not.toContain(secret);
  });
});
