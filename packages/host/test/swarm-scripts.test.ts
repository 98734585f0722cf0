/**
 * The swarm target's host scripts, run for real with a stub `docker`: the stack deploy (the release
 * folder's files by absolute path, the digest override last, the label file on stdin, the production
 * values exported from shared/.env.prod without evaluating them, TITAN_MODE over them) and the
 * status reading (records of the swarm, its services, tasks and containers).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordsOf } from '@titan/host/host-record';
import { type LocalHost, localHost } from './support/local-host.js';

let host: LocalHost;
afterEach(() => host.remove());

describe('titan-swarm-stack-deploy', () => {
  it('deploys releases/<id> with its compose files and the label file, the values exported but never run', () => {
    host = localHost('titan-swarm-');
    mkdirSync(join(host.layout.releasesDir, 'r1'));
    const marker = join(host.root, 'ran');
    writeFileSync(host.layout.envFile, `# production\n\nHMAC_SECRET=s3cr3t=x\nQUOTED="two words"\nSINGLE='it'\nEVIL=$(touch ${marker})\nTITAN_MODE=ARMED\n`);
    host.stub('docker', `printf '%s|%s|%s|%s|%s\\n' "$HMAC_SECRET" "$QUOTED" "$SINGLE" "$EVIL" "$TITAN_MODE" > '${join(host.root, 'env')}'; cat > '${join(host.root, 'stdin')}'`);
    const run = host.run('titan-swarm-stack-deploy', ['titan', 'r1', 'DISARMED', 'docker-compose.yml', 'docker-compose.digests.yml'], { stdin: 'services: {}\n' });
    expect(run.status, run.stderr).toBe(0);
    const dir = host.layout.releaseDir('r1');
    expect(host.calls('docker')).toEqual([`docker stack deploy --detach=true --resolve-image never --prune --with-registry-auth -c ${dir}/docker-compose.yml -c ${dir}/docker-compose.digests.yml -c - titan`]);
    expect(host.read(join(host.root, 'env'))).toBe(`s3cr3t=x|two words|it|$(touch ${marker})|DISARMED\n`);
    expect(host.read(join(host.root, 'stdin'))).toBe('services: {}\n');
    expect(() => host.read(marker)).toThrow();
  });

  it('refuses a values file line that is not NAME=VALUE by its number, not its text, and a release that is not there', () => {
    host = localHost('titan-swarm-');
    mkdirSync(join(host.layout.releasesDir, 'r1'));
    writeFileSync(host.layout.envFile, 'A=1\nnot a pair secret\n');
    host.stub('docker', '');
    const bad = host.run('titan-swarm-stack-deploy', ['titan', 'r1', 'DISARMED', 'c.yml']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`${host.layout.envFile}:2: not a NAME=VALUE line\n`);
    expect(host.calls('docker')).toEqual([]);
    const missing = host.run('titan-swarm-stack-deploy', ['titan', 'r9', 'DISARMED', 'c.yml']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`${host.layout.releaseDir('r9')} does not exist`);
  });
});

describe('titan-swarm-status', () => {
  it('says the swarm state and stops there on an engine that is no manager', () => {
    host = localHost('titan-swarm-');
    host.stub('docker', 'echo "inactive false"');
    const run = host.run('titan-swarm-status', ['titan']);
    expect(run.status, run.stderr).toBe(0);
    expect(recordsOf(run.stdout, 'swarm')).toEqual([['inactive', 'false']]);
    expect(host.calls('docker')).toHaveLength(1);
  });

  it('records each service, task and container of the stack', () => {
    host = localHost('titan-swarm-');
    const tab = '\t';
    host.stub(
      'docker',
      `case "$1 $2" in
  "info --format") echo "active true" ;;
  "service ls") echo sid1 ;;
  "service inspect") printf 'sid1${tab}titan_x${tab}img@sha256:1${tab}1${tab}completed${tab}1700${tab}update completed\\n' ;;
  "service ps") echo t1 ;;
  "inspect --type") printf 't1${tab}sid1${tab}img@sha256:1${tab}r1${tab}running${tab}running${tab}1690${tab}c1${tab}\\n' ;;
  "ps -a") printf 'c1${tab}t1${tab}Up 3 seconds (healthy)\\n' ;;
esac`,
    );
    const run = host.run('titan-swarm-status', ['titan']);
    expect(run.status, run.stderr).toBe(0);
    expect(recordsOf(run.stdout, 'service')).toEqual([['sid1', 'titan_x', 'img@sha256:1', '1', 'completed', '1700', 'update completed']]);
    expect(recordsOf(run.stdout, 'task')).toEqual([['t1', 'sid1', 'img@sha256:1', 'r1', 'running', 'running', '1690', 'c1', '']]);
    expect(recordsOf(run.stdout, 'container')).toEqual([['c1', 't1', 'Up 3 seconds (healthy)']]);
    expect(host.calls('docker')).toContain('docker service ls -q --filter label=com.docker.stack.namespace=titan');
  });
});
