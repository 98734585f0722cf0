/**
 * The scripts about the running stack and the host's marks, run for real with a stub `docker`: the
 * record of the last verified start and its reading, the mode, the halt mark (written, lifted only by
 * its own nonce), images found missing and pulled, the stack started without its held services, and
 * the journal, whose lines the runner and the host write in one format.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatRecord, recordsOf } from '@titan/host/host-record';
import { type DeployJournalEntry, journalLine, parseJournal } from '@titan/host/journal';
import { parseStackNow } from '@titan/host/stack-record';
import { EXIT_HALT_STANDS } from '@titan/ssh/exit-status';
import { type LocalHost, localHost } from './support/local-host.js';

let host: LocalHost;
afterEach(() => host.remove());

const PS = 'printf "c1 running postgres\\nc2 exited titan-hunter\\n"';

describe('titan-write-stack-record and titan-read-stack-record', () => {
  it('records the start (0600) and reads it back beside the containers now; shared/ is compared on the host', () => {
    host = localHost('titan-stack-');
    mkdirSync(join(host.layout.sharedDir, 'secrets'));
    writeFileSync(host.layout.envFile, 'A=1\n');
    writeFileSync(join(host.layout.sharedDir, 'secrets', 'key'), 'k');
    host.stub('docker', PS);
    expect(host.run('titan-read-stack-record', ['titan']).stdout).toContain(formatRecord('shared', 'no-record'));
    const write = host.run('titan-write-stack-record', ['titan', 'r1', 'DISARMED']);
    expect(write.status, write.stderr).toBe(0);
    const recordFile = host.layout.stateFile('stack-started');
    expect(statSync(recordFile).mode & 0o777).toBe(0o600);
    const read = host.run('titan-read-stack-record', ['titan']);
    expect(read.stdout).not.toMatch(/[0-9a-f]{64}/);
    expect(parseStackNow(read.stdout)).toEqual({
      containers: [{ id: 'c1', state: 'running', service: 'postgres' }, { id: 'c2', state: 'exited', service: 'titan-hunter' }],
      record: { release: 'r1', mode: 'DISARMED', containers: [{ id: 'c1', service: 'postgres' }, { id: 'c2', service: 'titan-hunter' }] },
      shared: 'same',
    });
    expect(host.calls('docker')[0]).toBe('docker ps -a --no-trunc --filter label=com.docker.compose.project=titan --format {{.ID}} {{.State}} {{.Label "com.docker.compose.service"}}');
    writeFileSync(join(host.layout.sharedDir, 'secrets', 'key'), 'k2');
    expect(parseStackNow(host.run('titan-read-stack-record', ['titan']).stdout).shared).toBe('changed');
  });
});

describe('the mode and the halt mark', () => {
  it('titan-record-mode writes the mode', () => {
    host = localHost('titan-stack-');
    expect(host.run('titan-record-mode', ['ARMED']).status).toBe(0);
    expect(host.read(host.layout.stateFile('mode'))).toBe('ARMED\n');
  });

  it('a halt mark is written, read back, and lifted only by its own nonce; a newer one stands and is said, EXIT_HALT_STANDS', () => {
    host = localHost('titan-stack-');
    const mark = '{"at":"2026-12-01T10:00:00Z","actor":"octo","nonce":"00ff00ff00ff00ff"}';
    expect(host.run('titan-read-halt-mark').stdout).toBe('');
    expect(host.run('titan-write-halt-mark', [mark]).status).toBe(0);
    expect(host.read(host.layout.stateFile('halted'))).toBe(`${mark}\n`);
    expect(host.run('titan-read-halt-mark').stdout).toBe(`${formatRecord('halted', mark)}\n`);
    const other = host.run('titan-lift-halt-mark', ['11ee11ee11ee11ee']);
    expect(other.status).toBe(EXIT_HALT_STANDS);
    expect(other.stdout).toBe(`${formatRecord('halt-stands', mark)}\n`);
    expect(host.run('titan-lift-halt-mark', ['']).status).toBe(EXIT_HALT_STANDS);
    expect(host.run('titan-lift-halt-mark', ['00ff00ff00ff00ff']).status).toBe(0);
    expect(existsSync(host.layout.stateFile('halted'))).toBe(false);
    expect(host.run('titan-lift-halt-mark', ['00ff00ff00ff00ff']).status).toBe(0);
    host.run('titan-write-halt-mark', ['{"actor":"old"}']);
    expect(host.run('titan-lift-halt-mark', ['']).status).toBe(0);
  });
});

describe('images and the stack', () => {
  it('titan-missing-images says each image the engine does not have; titan-pull-images says each pull', () => {
    host = localHost('titan-stack-');
    host.stub('docker', 'case "$*" in *@sha256:bbb*) exit 1 ;; esac');
    const missing = host.run('titan-missing-images', ['r/a@sha256:aaa', 'r/b@sha256:bbb']);
    expect(missing.status).toBe(0);
    expect(recordsOf(missing.stdout, 'missing')).toEqual([['r/b@sha256:bbb']]);
    const pull = host.run('titan-pull-images', ['r/a@sha256:aaa', 'r/b@sha256:bbb']);
    expect(pull.status).toBe(1);
    expect(recordsOf(pull.stdout, 'pulled')).toEqual([['r/a@sha256:aaa']]);
    expect(recordsOf(pull.stdout, 'pull-failed')).toEqual([['r/b@sha256:bbb']]);
    expect(host.calls('docker')).toContain('docker pull -q r/b@sha256:bbb');
  });

  it('titan-up-except starts every service but the held ones, without dependencies', () => {
    host = localHost('titan-stack-');
    host.stub('docker', 'case "$*" in *" config --services") printf "postgres\\ntitan-hunter\\ntitan-brain\\n" ;; esac');
    const run = host.run('titan-up-except', ['titan-hunter titan-scavenger', 'docker', 'compose', '-p', 'titan']);
    expect(run.status, run.stderr).toBe(0);
    expect(host.calls('docker').pop()).toBe('docker compose -p titan up -d --no-deps --remove-orphans postgres titan-brain');
  });
});

describe('the journal', () => {
  it('the runner and the host write one format: {"time","action","result",...}', () => {
    host = localHost('titan-stack-');
    const entry: DeployJournalEntry = {
      release: 'r1', previous: null, mode: 'DISARMED', actor: 'octo', runUrl: 'https://ci/runs/1', phases: { lock: 12 },
      result: 'deployed', action: 'deploy', time: '2026-12-01T10:00:00.123Z', reason: 'a "quoted" \\ reason',
    };
    const { time, action, result, ...rest } = entry;
    const run = host.run('titan-append-journal', [action, result, JSON.stringify(rest).slice(1, -1), time]);
    expect(run.status, run.stderr).toBe(0);
    host.run('titan-append-journal', ['lock', 'lost', '"reason":"x"', '']);
    const [first, second] = host.read(host.layout.journal).split('\n');
    expect(first).toBe(journalLine(entry));
    expect(Object.keys(JSON.parse(first ?? '{}') as object).slice(0, 3)).toEqual(['time', 'action', 'result']);
    const lost = parseJournal(second ?? '')[0];
    expect(lost).toMatchObject({ action: 'lock', result: 'lost', reason: 'x' });
    expect(lost?.['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
