/**
 * action-rollback's committed bundle, run the way a runner runs it (Node 24, INPUT_* variables,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), against a stack of its own on the real test host
 * (sshd, Docker engine, registry, NATS JetStream, Compose), deployed with action-deploy's bundle.
 * Fails, never skips, without the test host: start it with scripts/test-host/up.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, writeFileSync, appendFileSync, chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as connectNats } from '@nats-io/transport-node';
import { acquireDeployLock } from '@titan/host/deploy-lock';
import { HostLayout } from '@titan/host/host-layout';
import { silentLogger } from '@titan/log/logger';
import { sealAcknowledgement } from '@titan/rollback/halt-acknowledgement';
import { connectSsh } from '@titan/ssh/connect';
import { cancelAsGitHubDoes, runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import {
  PROJECT,
  appDir,
  brainSubscribed,
  cleanUp,
  containerStates,
  deploy,
  docker,
  envValue,
  host,
  journal,
  natsUrl,
  prepareStack,
  recordedHalts,
  rollback,
  signTestRelease,
  startRollback,
  watchStartEvents,
  watchStopEvents,
} from '../../packages/rollback/test/support/rollback-stack.js';

const execFileAsync = promisify(execFile);

const STRATEGIES = ['titan-scavenger', 'titan-hunter', 'titan-sentinel', 'titan-ai-quant', 'titan-powerlaw-lab'];
const OPERATOR_SURFACE = ['titan-console', 'titan-console-api', 'titan-opsd'];
const INFRASTRUCTURE = ['traefik', 'nats', 'redis', 'postgres', 'prometheus', 'grafana', 'titan-tempo'];
const ORDER = [STRATEGIES, ['titan-execution'], ['titan-brain'], OPERATOR_SURFACE];

const releases: { dir: string; id: string }[] = [];
const runs: ActionRun[] = [];
const processListings: string[] = [];
let secrets: string[] = [];

const now = (): number => Date.now() / 1000;
const id = (index: number): string => releases[index]?.id ?? '';

async function recorded(run: Promise<ActionRun>): Promise<ActionRun> {
  const done = await run;
  runs.push(done);
  if (process.env['TITAN_ROLLBACK_DEBUG']) writeFileSync(`/tmp/rb-run-${runs.length}.log`, `${done.log}\n----\n${done.summary}`);
  return done;
}

/** Samples the host's process list (every process's arguments) while `run` goes on. */
async function sampleProcesses<T>(run: Promise<T>): Promise<T> {
  let finished = false;
  const sampling = (async () => {
    while (!finished) {
      const { stdout } = await execFileAsync('ps', ['-eww', '-o', 'args'], { maxBuffer: 16 * 1024 * 1024 });
      processListings.push(stdout);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return await run;
  } finally {
    finished = true;
    await sampling;
  }
}

/** The services whose containers stopped, in the groups they stopped in, checked against the order. */
function expectStopOrder(events: { service: string; timeNano: number }[], groups: readonly (readonly string[])[]): void {
  const stopped = new Set(events.map((e) => e.service));
  expect([...stopped].sort()).toEqual(groups.flat().sort());
  for (let i = 0; i + 1 < groups.length; i += 1) {
    const group = groups[i] ?? [];
    const next = groups[i + 1] ?? [];
    const lastOfGroup = Math.max(...events.filter((e) => group.includes(e.service)).map((e) => e.timeNano));
    const firstOfNext = Math.min(...events.filter((e) => next.includes(e.service)).map((e) => e.timeNano));
    expect(lastOfGroup, `${group.join(', ')} stopped before ${next.join(', ')}`).toBeLessThan(firstOfNext);
  }
}

function allRunning(): void {
  const states = containerStates();
  expect(Object.keys(states).sort()).toHaveLength(17);
  expect(Object.entries(states).filter(([, state]) => state !== 'running')).toEqual([]);
}

function signedPart(payload: string): { signed: string; signature: string } {
  const mark = payload.lastIndexOf(',"signature":"');
  return { signed: payload.slice('{"command":'.length, mark), signature: payload.slice(mark + ',"signature":"'.length, -2) };
}

beforeAll(async () => {
  prepareStack();
  secrets = [envValue('HMAC_SECRET'), envValue('NATS_CONSOLE_PASSWORD'), envValue('NATS_BRAIN_PASSWORD')];
  for (let i = 0; i < 4; i += 1) releases.push(await signTestRelease());
  const started = now();
  for (const release of releases) await deploy(release.dir);
  await brainSubscribed(started - 5);
}, 600_000);

afterAll(() => {
  cleanUp();
});

describe('action-rollback (bundle) on the test host', () => {
  it('given no inputs, fails with a ConfigurationError naming the missing input', async () => {
    const run = await runActionBundle('action-rollback');
    expect(run.status).toBe(1);
    expect(run.log).toContain('::error::Configuration error: Input required and not supplied: host');
    expect(run.summary).toContain('## ❌ Rollback failed');
    expect(run.summary).toContain('Configuration error: Input required and not supplied: host');
  });

  it('mode halt: titan-brain records the exact payload, its HMAC checks with node:crypto, the acknowledgement is reported', async () => {
    const before = recordedHalts().length;
    const run = await recorded(rollback({ mode: 'halt', reason: 'market data feed lost' }));
    expect(run.status, run.log).toBe(0);
    expect(run.outputs).toEqual({ result: 'halted', 'release-id': id(3), 'halt-acknowledged': 'true' });

    const halts = recordedHalts();
    expect(halts).toHaveLength(before + 1);
    const payload = halts[halts.length - 1] ?? '';
    const { signed, signature } = signedPart(payload);
    const command = JSON.parse(signed) as Record<string, string>;
    expect(command).toMatchObject({
      type: 'HARD_HALT',
      reason: 'market data feed lost',
      actor: 'rollback-tester',
      runUrl: 'https://github.com/titan/titan/actions/runs/7001',
    });
    expect(command['nonce']).toMatch(/^[0-9a-f]{32}$/);
    expect(createHmac('sha256', envValue('HMAC_SECRET')).update(Buffer.from(signed, 'utf8')).digest('hex')).toBe(signature);
    expect(createHmac('sha256', `${envValue('HMAC_SECRET')}-wrong`).update(Buffer.from(signed, 'utf8')).digest('hex')).not.toBe(signature);
    // The stand-in also writes it to its standard output.
    expect(execFileSync('docker', ['logs', `${PROJECT}_titan-brain_1`], { encoding: 'utf8' })).toContain(payload);

    expect(run.summary).toContain('HARD_HALT: **acknowledged** by titan-brain');
    expect(run.summary).toContain(command['nonce']);
    allRunning();
    expect(journal().at(-1)).toMatchObject({
      action: 'rollback',
      rollbackMode: 'halt',
      result: 'halted',
      release: id(3),
      reason: 'market data feed lost',
      halt: { subject: 'titan.cmd.sys.halt', nonce: command['nonce'], acknowledged: true },
    });
  });

  it('mode stop: strategies, then execution, then brain, each checked stopped; the operator surface and the infrastructure keep running', async () => {
    const events = await watchStopEvents();
    const run = await recorded(rollback({ mode: 'stop', reason: 'stop trading for the night' }));
    expect(run.status, run.log).toBe(0);
    expect(run.outputs).toEqual({ result: 'stopped', 'release-id': id(3), 'halt-acknowledged': 'true' });
    expectStopOrder(await events.stop(), ORDER.slice(0, 3));
    const states = containerStates();
    for (const service of [...STRATEGIES, 'titan-execution', 'titan-brain']) expect(states[service], service).toBe('exited');
    for (const service of [...OPERATOR_SURFACE, ...INFRASTRUCTURE]) expect(states[service], service).toBe('running');
    expect(run.summary).toContain('Left running on purpose: titan-console, titan-console-api, titan-opsd, and the infrastructure.');
    expect(run.summary).toMatch(/\| 1 \| titan-scavenger, titan-hunter, titan-sentinel, titan-ai-quant, titan-powerlaw-lab \| 5 \|/);
  });

  it("mode halt with titan-brain stopped and another service answering: unsigned, forged or not titan-brain's acknowledgements do not count", async () => {
    expect(containerStates()['titan-brain']).toBe('exited');
    // A strategy's NATS user may subscribe to the system subjects and reply on inboxes: it answers every HARD_HALT three times.
    const impostor = await connectNats({ servers: natsUrl, user: 'hunter', pass: envValue('NATS_HUNTER_PASSWORD'), reconnect: false });
    const answered: string[] = [];
    impostor.subscribe('titan.cmd.sys.halt', {
      callback: (_error, message) => {
        const nonce = /"nonce":"([0-9a-f]{32})"/.exec(message.string())?.[1] ?? '';
        answered.push(nonce);
        message.respond(JSON.stringify({ ack: true, nonce, service: 'titan-brain' }));
        message.respond(sealAcknowledgement(nonce, 'titan-brain', 'a guessed secret'));
        message.respond(sealAcknowledgement(nonce, 'titan-hunter', envValue('HMAC_SECRET')));
      },
    });
    await impostor.flush();
    try {
      const run = await recorded(rollback({ mode: 'halt', reason: 'is anyone there', 'halt-timeout': '3' }));
      expect(run.status).toBe(1);
      expect(run.outputs['halt-acknowledged']).toBe('false');
      expect(answered).toHaveLength(1);
      expect(run.log).toContain('is not a signed acknowledgement');
      expect(run.log).toContain("the acknowledgement's HMAC signature does not check with hmac-secret (forged, or signed with another secret)");
      expect(run.log).toContain("the acknowledgement comes from titan-hunter, not titan-brain: only titan-brain's counts");
      expect(run.log).toMatch(/::warning::HARD_HALT was NOT acknowledged: no valid acknowledgement from titan-brain on titan\.cmd\.sys\.halt within 3 s; 3 reply\(ies\) did not count/);
      expect(run.summary).toContain('HARD_HALT: ⚠️ **NOT acknowledged**');
      expect(journal().at(-1)).toMatchObject({ rollbackMode: 'halt', halt: { nonce: answered[0], acknowledged: false } });
    } finally {
      await impostor.close();
    }
  });

  it('mode restart: the current release verified again, stopped in order, started DISARMED and verified', async () => {
    const since = now();
    const events = await watchStopEvents();
    const run = await recorded(rollback({ mode: 'restart', reason: 'resume after the night' }));
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['result']).toBe('restarted');
    expect(run.outputs['release-id']).toBe(id(3));
    // The trading services were stopped by the test before: only the operator surface had anything to stop.
    expect((await events.stop()).map((e) => e.service).sort()).toEqual([...OPERATOR_SURFACE].sort());
    // With titan-brain stopped, nothing answered the HARD_HALT: said loudly, and the restart went on.
    expect(run.outputs['halt-acknowledged']).toBe('false');
    expect(run.log).toContain('::warning::HARD_HALT was NOT acknowledged: nothing subscribes to titan.cmd.sys.halt (no responders)');
    allRunning();
    expect(run.log).toContain(`Release ${id(3)} verifies on the host: verified ${id(3)}`);
    expect(run.summary).toContain(`Verification of ${id(3)}`);
    const brain = JSON.parse(docker(['inspect', '--format', '{{json .Config.Env}}', `${PROJECT}_titan-brain_1`])) as string[];
    expect(brain).toContain('TITAN_MODE=DISARMED');
    await brainSubscribed(since);
  });

  it('waits for a deploy that holds the lock, fails naming it after lock-timeout, and proceeds once it ends', async () => {
    const connection = await connectSsh({
      host: host.host,
      port: host.port,
      username: host.user,
      privateKey: readFileSync(host.privateKeyPath, 'utf8'),
      hostKeys: [host.knownHosts],
      logger: silentLogger,
    });
    try {
      const lock = await acquireDeployLock(connection, {
        layout: new HostLayout(appDir),
        holder: { runUrl: 'https://github.com/titan/titan/actions/runs/999', release: 'a-deploy-in-progress', actor: 'deployer' },
        timeoutSeconds: 10,
        logger: silentLogger,
      });
      const refused = await recorded(rollback({ mode: 'restart', reason: 'while a deploy runs', 'lock-timeout': '2' }));
      expect(refused.status).toBe(1);
      expect(refused.outputs['result']).toBe('failed');
      expect(refused.log).toMatch(/The deploy lock on 127\.0\.0\.1 is held by https:\/\/github\.com\/titan\/titan\/actions\/runs\/999 \(release a-deploy-in-progress, actor deployer/);
      allRunning();

      const events = await watchStopEvents();
      const waiting = recorded(rollback({ mode: 'restart', reason: 'after the deploy', 'lock-timeout': '60' }));
      // The lock goes 8 s after the start: the rollback has connected and waits by then, however
      // long its start took on a loaded machine (seconds, not eight).
      await new Promise((resolve) => setTimeout(resolve, 8000));
      const released = now();
      await lock.release();
      const run = await waiting;
      expect(run.status, run.log).toBe(0);
      expect(run.outputs['result']).toBe('restarted');
      const waited = /taken after waiting (\d+\.\d+) s/.exec(run.summary);
      expect(Number(waited?.[1])).toBeGreaterThanOrEqual(2);
      const stops = await events.stop();
      expectStopOrder(stops, ORDER);
      expect(Math.min(...stops.map((e) => e.timeNano)) / 1e9).toBeGreaterThan(released);
    } finally {
      await connection.close();
    }
    await brainSubscribed(now() - 30);
  });

  it('to: last-good skips a release marked bad and one tampered with after it was deployed, and returns to the next good one', async () => {
    const [a, b, c, d] = [id(0), id(1), id(2), id(3)];
    const state = join(appDir, 'state');
    writeFileSync(join(state, `${c}.bad`), `${JSON.stringify({ release: c, at: '2026-11-23T00:00:00Z', reason: 'failed after its switch' })}\n`);
    chownSync(join(state, `${c}.bad`), statSync(appDir).uid, statSync(appDir).gid);
    appendFileSync(join(appDir, 'releases', b, 'config', 'prometheus.yml'), '# edited on the host\n');
    const haltsBefore = recordedHalts().length;

    const since = now();
    const events = await watchStopEvents();
    const run = await recorded(sampleProcesses(rollback({ mode: 'rollback', to: 'last-good', reason: `release ${d} breaks order routing` })));
    expect(run.status, run.log).toBe(0);
    expect(run.outputs).toEqual({ result: 'rolled-back', 'release-id': a, 'halt-acknowledged': 'true' });
    expect(readlinkSync(join(appDir, 'current'))).toBe(`releases/${a}`);
    expect(run.log).toContain(`Skipping release ${b}: config/prometheus.yml is`);
    expect(run.summary).toMatch(new RegExp(`\\| ${b} \\| host verification \\| config/prometheus\\.yml .*\\|`));
    expect(run.summary).not.toContain(`| ${c} |`);
    expect(JSON.parse(readFileSync(join(state, `${d}.bad`), 'utf8'))).toMatchObject({ release: d, reason: `rolled back by rollback-tester: release ${d} breaks order routing` });

    expectStopOrder(await events.stop(), ORDER);
    allRunning();
    expect(recordedHalts()).toHaveLength(haltsBefore + 1);
    expect(run.summary).toContain(`Verification of ${a}`);
    expect(journal().at(-1)).toMatchObject({
      action: 'rollback',
      rollbackMode: 'rollback',
      result: 'rolled-back',
      release: a,
      previous: d,
      to: 'last-good',
      mode: 'DISARMED',
      refused: [{ release: b }],
      stopped: ORDER.flat(),
    });
    expect(existsSync(join(state, `${a}.confirmed`))).toBe(true);
    await brainSubscribed(since);
  });

  it('to: a release that does not exist fails listing the releases; to: a tampered release fails with nothing stopped or switched', async () => {
    const missing = await recorded(rollback({ to: '20990101T000000Z-000000000000', reason: 'wrong id' }));
    expect(missing.status).toBe(1);
    expect(missing.outputs['result']).toBe('failed');
    expect(missing.log).toContain('Release 20990101T000000Z-000000000000 is not on the host. Available releases: ');
    for (let i = 0; i < 4; i += 1) expect(missing.log).toContain(id(i));

    const events = await watchStopEvents();
    const tampered = await recorded(rollback({ to: id(1), reason: 'named, but tampered' }));
    expect(tampered.status).toBe(1);
    expect(tampered.log).toContain(`Release ${id(1)} no longer verifies on 127.0.0.1`);
    expect(tampered.log).toContain('Nothing was stopped or switched.');
    expect(tampered.outputs['release-id']).toBe(id(0));
    expect(readlinkSync(join(appDir, 'current'))).toBe(`releases/${id(0)}`);
    expect(await events.stop()).toEqual([]);
    allRunning();
  });

  it('with NATS stopped: halt-acknowledged false with a loud warning, and the stack is still stopped and started again', async () => {
    const current = join(appDir, 'current');
    const files = ['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.secrets.yml', 'docker-compose.digests.yml'].flatMap((f) => ['-f', join(current, f)]);
    docker(['compose', '-p', PROJECT, '--project-directory', current, ...files, '--env-file', join(appDir, 'shared', '.env.prod'), 'stop', 'nats']);
    expect(containerStates()['nats']).toBe('exited');

    const since = now();
    const events = await watchStopEvents();
    const run = await recorded(rollback({ mode: 'restart', reason: 'NATS is down', 'halt-timeout': '3' }));
    expect(run.status, run.log).toBe(0);
    expect(run.outputs).toEqual({ result: 'restarted', 'release-id': id(0), 'halt-acknowledged': 'false' });
    expect(run.log).toMatch(/::warning::HARD_HALT was NOT acknowledged: NATS at 127\.0\.0\.1:34222 on 127\.0\.0\.1 did not accept a connection: .*\. The shutdown goes on without it\./);
    expect(run.summary).toContain('HARD_HALT: ⚠️ **NOT acknowledged**');
    expectStopOrder(await events.stop(), ORDER);
    allRunning();
    expect(journal().at(-1)).toMatchObject({ rollbackMode: 'restart', result: 'restarted', halt: { acknowledged: false } });
    await brainSubscribed(since);
  });

  it('cancelled (SIGINT) during the orderly shutdown: it ends within GitHub\'s window, brings back the operator surface DISARMED, keeps the trading services stopped under the halt mark, and says so', async () => {
    const since = now();
    const running = await startRollback({ mode: 'restart', reason: 'restart, then cancelled' });
    const inStop = await (async () => {
      for (let i = 0; i < 1200; i += 1) {
        if (running.log().includes('::group::stop\n')) return true;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return false;
    })();
    expect(inStop, running.log()).toBe(true);
    const starts = await watchStartEvents();
    const { run, endedAfterMs, killed } = await cancelAsGitHubDoes(running);
    runs.push(run);
    expect(killed, run.log).toBe(false);
    expect(endedAfterMs).toBeLessThan(10_000);
    expect(run.status).toBe(1);
    expect(run.outputs['result']).toBe('cancelled');
    expect(run.log).toMatch(/::error::The run was cancelled \(SIGINT\) during stop\./);
    expect(run.summary).toContain('⏹️ restart cancelled on 127.0.0.1');
    expect(run.summary).toMatch(/\*\*host now\*\* \| release \S+ is current; its operator surface and infrastructure run again DISARMED; /);
    expect(journal().at(-1)).toMatchObject({ action: 'rollback', rollbackMode: 'restart', result: 'cancelled', phase: 'stop' });
    expect(existsSync(join(appDir, 'state', 'halted'))).toBe(true);
    expect(existsSync(join(appDir, '.deploy.lock.holder'))).toBe(false);
    // Nothing of the trading services was started after the cancellation; what the shutdown had
    // stopped stays stopped, and the summary says which still run.
    expect((await starts.stop()).filter((e) => [...STRATEGIES, 'titan-execution', 'titan-brain'].includes(e.service))).toEqual([]);
    const states = containerStates();
    for (const service of [...OPERATOR_SURFACE, ...INFRASTRUCTURE]) expect(states[service], service).toBe('running');
    for (const service of [...STRATEGIES, 'titan-execution', 'titan-brain'].filter((s) => states[s] === 'running')) expect(run.summary).toContain(service);

    const restart = await recorded(rollback({ mode: 'restart', reason: 'resume after the cancelled restart' }));
    expect(restart.status, restart.log).toBe(0);
    expect(existsSync(join(appDir, 'state', 'halted'))).toBe(false);
    allRunning();
    await brainSubscribed(since);
  });

  it('a stack stopped with its containers kept: mode halt says at once that nothing trades; mode restart brings every service up, verified', async () => {
    const ids = docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]).split('\n').filter(Boolean);
    expect(ids).toHaveLength(17);
    docker(['stop', '-t', '5', ...ids]);
    expect(Object.values(containerStates()).every((s) => s === 'exited')).toBe(true);

    const started = Date.now();
    const halt = await recorded(rollback({ mode: 'halt', reason: 'is anything trading?', 'halt-timeout': '3' }));
    expect(halt.status).toBe(1);
    expect(halt.log).toContain(`The stack of project ${PROJECT} is stopped on 127.0.0.1 (no container of it runs), so nothing trades`);
    expect(Date.now() - started).toBeLessThan(20_000);

    const since = now();
    const restart = await recorded(rollback({ mode: 'restart', reason: 'bring the stopped stack back' }));
    expect(restart.status, restart.log).toBe(0);
    expect(restart.outputs['result']).toBe('restarted');
    allRunning();
    expect(restart.summary).toContain('Verification of');
    await brainSubscribed(since);
  });

  it('never shows a secret: not in a log, a summary, the journal, or the host process list', () => {
    expect(runs.length).toBeGreaterThanOrEqual(8);
    expect(processListings.length).toBeGreaterThan(5);
    expect(processListings.join('\n')).toContain('titan-orderly-stop');
    // `::add-mask::` lines are commands to the runner (it masks those values), never shown in its log.
    const shown = (log: string): string => log.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
    expect(runs.some((r) => r.log.includes('::add-mask::'))).toBe(true);
    const texts = [...runs.flatMap((r) => [shown(r.log), r.summary, JSON.stringify(r.outputs)]), readFileSync(join(appDir, 'journal.jsonl'), 'utf8'), ...processListings];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(16);
      for (const text of texts) expect(text.includes(secret)).toBe(false);
    }
  });
});
