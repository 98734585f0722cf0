import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { parseDigestMap, readDigestFolder, readDigests, type DigestMap, type DigestSelection } from '@titan/release/image-digests';
import { generateReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { copyExample, EXAMPLE_SOURCE, exampleServices, fakeDigest, GIT_SHA, scratch, writeDigestFolder } from './release-fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let services: string[];
beforeEach(async () => {
  ({ dir, cleanup } = await scratch());
  services = await exampleServices();
});
afterEach(async () => cleanup());

const output = (): string => join(dir, 'out', 'releases');

async function sign(selection: DigestSelection, source = EXAMPLE_SOURCE): Promise<void> {
  await signRelease(
    {
      source,
      selection,
      signingKey: generateReleaseKey(),
      git: { sha: GIT_SHA, ref: 'refs/heads/main' },
      runUrl: '',
      output: output(),
    },
    recordingLogger(),
  );
}

async function digestsFor(list: readonly string[]): Promise<DigestMap> {
  return readDigestFolder(await writeDigestFolder(join(dir, 'digests'), list));
}

/** The refusal's message, after checking that nothing was written: no output folder, no staging left over. */
async function refusal(attempt: Promise<unknown>): Promise<string> {
  let error: unknown;
  try {
    await attempt;
  } catch (e: unknown) {
    error = e;
  }
  expect(error, 'expected a refusal').toBeInstanceOf(Error);
  await expect(readdir(join(dir, 'out')), 'output folder written').rejects.toThrow(/ENOENT/);
  expect((await readdir(dir)).filter((n) => n.startsWith('.titan-release-'))).toEqual([]);
  return (error as Error).message;
}

describe('sign refuses, writing nothing', () => {
  it('a missing service (a build leg that left no digest)', async () => {
    const message = await refusal(sign({ digests: await digestsFor(services.filter((s) => s !== 'titan-opsd')) }));
    expect(message).toBe('missing digest for service: titan-opsd (no digest file or reused digest; did its build leg upload it?)');
  });

  it('an unexpected service', async () => {
    const message = await refusal(sign({ digests: await digestsFor([...services, 'titan-intruder']) }));
    expect(message).toMatch(/^unexpected service: titan-intruder has a digest but is not among the expected services/);
  });

  it('a service outside an explicit services list, and one the list expects but nobody built', async () => {
    const digests = await digestsFor(services);
    expect(await refusal(sign({ digests, services: services.filter((s) => s !== 'redis') }))).toMatch(
      /^unexpected service: redis has a digest but is not among the expected services \(the services input\)/,
    );
    expect(await refusal(sign({ digests, services: [...services, 'titan-new'] }))).toMatch(/^missing digest for service: titan-new/);
  });

  it('malformed digests: sha256:xyz, md5:..., no prefix, upper-case hex, two lines', async () => {
    const bad = [
      'sha256:xyz',
      `md5:${'a'.repeat(32)}`,
      'a'.repeat(64),
      `sha256:${'A'.repeat(64)}`,
      `${fakeDigest('x')}\n${fakeDigest('y')}\n`,
    ];
    for (const content of bad) {
      const folder = await writeDigestFolder(join(dir, `digests-${bad.indexOf(content)}`), services);
      await writeFile(join(folder, 'titan-brain'), content);
      const message = await refusal(readDigests(folder).then((digests) => sign({ digests })));
      expect(message).toContain(`/titan-brain (service titan-brain): malformed digest ${JSON.stringify(content.slice(0, 12)).slice(0, -1)}`);
      expect(message).toMatch(/expected "sha256:" followed by 64 lower-case hex digits$/);
    }
  });

  it('a reused digest that contradicts a built one, and a malformed reused map', async () => {
    const digests = await digestsFor(services);
    const reused = parseDigestMap(JSON.stringify({ 'titan-brain': fakeDigest('titan-brain', 'older') }), 'reused');
    expect(await refusal(sign({ digests, reused }))).toMatch(/^service titan-brain has a built digest \(sha256:[0-9a-f]{64}\) and a different reused one/);
    expect(() => parseDigestMap('{"titan-brain": "sha256:1"}', 'reused')).toThrow(/^reused \(service titan-brain\): malformed digest "sha256:1"/);
    expect(() => parseDigestMap('[1]', 'reused')).toThrow(/^reused must be a JSON object/);
  });

  it('takes reused digests and an inline JSON map in place of a folder', async () => {
    const built = services.filter((s) => s !== 'postgres' && s !== 'redis');
    const digests = await readDigests(JSON.stringify(Object.fromEntries(built.map((s) => [s, fakeDigest(s)]))));
    const reused = parseDigestMap(JSON.stringify({ postgres: fakeDigest('postgres'), redis: fakeDigest('redis') }), 'reused');
    await sign({ digests, reused });
    const [release] = await readdir(output());
    const manifest = JSON.parse(await readFile(join(output(), release ?? '', 'manifest.json'), 'utf8')) as { images: Record<string, { digest: string }> };
    expect(manifest.images['redis']?.digest).toBe(fakeDigest('redis'));
    expect(Object.keys(manifest.images)).toHaveLength(services.length);
  });

  it('a source file that cannot be read: a dangling symbolic link, a folder where a file is expected', async () => {
    const digests = await digestsFor(services);
    const dangling = await copyExample(join(dir, 'a'));
    await rm(join(dangling, 'docker-compose.prod.yml'));
    await symlink('/nonexistent/docker-compose.prod.yml', join(dangling, 'docker-compose.prod.yml'));
    expect(await refusal(sign({ digests }, dangling))).toBe(
      'services.yml: has 1 problem(s):\nservices.yml:7: release.compose[1]: docker-compose.prod.yml is a dangling symbolic link and cannot be read; put the file itself there',
    );
    const folder = await copyExample(join(dir, 'b'));
    await rm(join(folder, 'config/policy.json'));
    await mkdir(join(folder, 'config/policy.json'));
    expect(await refusal(sign({ digests }, folder))).toBe('services.yml: has 1 problem(s):\nservices.yml:8: release.policy: config/policy.json is not a file');
  });

  it('an unsafe path: outside the source, a name outside the charset, a symbolic link in the config folder', async () => {
    const digests = await digestsFor(services);
    const escape = await copyExample(join(dir, 'a'));
    const spec = await readFile(join(escape, 'services.yml'), 'utf8');
    await writeFile(join(escape, 'services.yml'), spec.replace('config: config', 'config: ../../etc').replace('policy: config/policy.json', 'policy: ../../etc/policy.json'));
    expect((await refusal(sign({ digests }, escape))).split('\n')).toEqual([
      'services.yml: has 2 problem(s):',
      'services.yml:8: release.policy: "../../etc/policy.json" is not a safe path inside the source folder: the path has a "." or ".." segment',
      'services.yml:9: release.config: "../../etc" is not a safe path inside the source folder: the path has a "." or ".." segment',
    ]);
    const spaced = await copyExample(join(dir, 'b'));
    await writeFile(join(spaced, 'config/extra settings.yml'), 'a: 1\n');
    expect(await refusal(sign({ digests }, spaced))).toMatch(/^config\/extra settings\.yml: unsafe path: the path holds a character outside/);
    const linked = await copyExample(join(dir, 'c'));
    await symlink('/etc/passwd', join(linked, 'config/passwd'));
    expect(await refusal(sign({ digests }, linked))).toBe(
      'config/passwd: is a symbolic link (to /etc/passwd); a release holds regular files only, put the file itself there',
    );
  });

  it('a compose file that mounts a file the bundle does not ship, and a gap in the migrations', async () => {
    const digests = await digestsFor(services);
    const mount = await copyExample(join(dir, 'a'));
    const compose = await readFile(join(mount, 'docker-compose.yml'), 'utf8');
    await writeFile(join(mount, 'docker-compose.yml'), compose.replace('./config/nats.conf:', './nats-local.conf:'));
    expect(await refusal(sign({ digests }, mount))).toBe(
      'docker-compose.yml: service nats uses ./nats-local.conf, which the release does not ship; keep files a service mounts inside the config folder (or the migrations folder) named in services.yml',
    );
    // The long form, with a path relative to the project folder that does not start with "./".
    const long = await copyExample(join(dir, 'c'));
    await writeFile(join(long, 'docker-compose.yml'), compose.replace('- ./config/nats.conf:/titan/config/nats.conf:ro', '- { type: bind, source: nats-local.conf, target: /titan/config/nats.conf, read_only: true }'));
    expect(await refusal(sign({ digests }, long))).toMatch(/^docker-compose\.yml: service nats uses nats-local\.conf, which the release does not ship;/);
    const gap = await copyExample(join(dir, 'b'));
    await rm(join(gap, 'migrations/0002_fills_and_positions.sql'));
    expect(await refusal(sign({ digests }, gap))).toBe(
      'migrations: has 1 problem(s):\nmigrations/0003_risk_and_audit.sql: 0003_risk_and_audit.sql follows 0001_accounts_and_orders.sql: 0002 is missing. Number migrations consecutively: rename 0003_risk_and_audit.sql to 0002_risk_and_audit.sql',
    );
  });

  it('a compose service without an image in services.yml (it would run unpinned)', async () => {
    const source = await copyExample(join(dir, 'a'));
    const spec = await readFile(join(source, 'services.yml'), 'utf8');
    const withoutRedis = spec.replace(/ {2}- service: redis\n( {4}.*\n)+/, '');
    expect(withoutRedis).not.toBe(spec);
    await writeFile(join(source, 'services.yml'), withoutRedis);
    const message = await refusal(sign({ digests: await digestsFor(services.filter((s) => s !== 'redis')) }, source));
    expect(message).toMatch(/^compose service redis would run without a pinned digest/);
  });

  it('a stack profile that is missing, or wrong in several places at once, each problem with its line', async () => {
    const digests = await digestsFor(services);
    const missing = await copyExample(join(dir, 'a'));
    await rm(join(missing, 'stack.yml'));
    expect(await refusal(sign({ digests }, missing))).toMatch(/^stack\.yml: is missing: the release source must describe its stack \(service groups in stop order/);
    const wrong = await copyExample(join(dir, 'b'));
    const profile = await readFile(join(wrong, 'stack.yml'), 'utf8');
    const edited = profile
      .replace('services: [titan-execution]', 'services: [titan-execution, titan-ghost]')
      .replace('infrastructure: [postgres, redis, ', 'infrastructure: [postgres, ')
      .replace('responder: titan-brain', 'responder: titan-console')
      .replace('{ service: titan-execution, path:', '{ service: titan-execution, port: 0, path:');
    await writeFile(join(wrong, 'stack.yml'), edited);
    const lineOf = (text: string): number => edited.split('\n').findIndex((l) => l.includes(text)) + 1;
    const message = await refusal(sign({ digests }, wrong));
    expect(message.split('\n')).toEqual([
      'stack.yml: has 2 problem(s):',
      `stack.yml:${lineOf('port: 0,')}: health[1].port: is 0, but the compose files set PORT 3002 for titan-execution: write the port once, in the compose file, and leave port out here`,
      `stack.yml:${lineOf('port: 0,')}: health[1].port: must be a port number, 1 to 65535`,
    ]);
    await writeFile(join(wrong, 'stack.yml'), edited.replace('port: 0,', 'port: 3002,'));
    const crossed = (await refusal(sign({ digests }, wrong))).split('\n');
    expect(crossed).toEqual([
      'stack.yml: has 3 problem(s):',
      `stack.yml:${lineOf('titan-ghost')}: groups[1].services[1]: titan-ghost is not a service of the release`,
      `stack.yml:${lineOf('infrastructure: [')}: infrastructure: service redis is in no group and not in infrastructure: say where it belongs`,
      `stack.yml:${lineOf('responder: titan-console')}: halt.responder: titan-console is not in a trading group: the halt responder is the service that stops trading`,
    ]);
  });

  it('a health port that is not the one its service\'s PORT says, or that the service does not publish; the signed profile takes each port from PORT', async () => {
    const digests = await digestsFor(services);
    const source = await copyExample(join(dir, 'a'));
    const profile = await readFile(join(source, 'stack.yml'), 'utf8');
    expect(profile).toContain('{ service: titan-brain, path: /health');
    const edited = profile.replace('{ service: titan-brain, path: /health', '{ service: titan-brain, port: 3101, path: /health');
    await writeFile(join(source, 'stack.yml'), edited);
    const line = edited.split('\n').findIndex((l) => l.includes('port: 3101')) + 1;
    expect((await refusal(sign({ digests }, source))).split('\n')).toEqual([
      'stack.yml: has 1 problem(s):',
      `stack.yml:${line}: health[0].port: is 3101, but the compose files set PORT 3100 for titan-brain: write the port once, in the compose file, and leave port out here`,
    ]);
    await writeFile(join(source, 'stack.yml'), profile);
    const base = await readFile(join(source, 'docker-compose.yml'), 'utf8');
    await writeFile(join(source, 'docker-compose.yml'), base.replace('      PORT: "3100"\n', '      PORT: "3105"\n'));
    expect(await refusal(sign({ digests }, source))).toContain(
      'health[0].service: titan-brain does not publish container port 3105 in its compose files (ports: "127.0.0.1:<host port>:3105")',
    );
    await writeFile(join(source, 'docker-compose.yml'), base);
    const release = await signRelease({ source, selection: { digests }, signingKey: generateReleaseKey(), git: { sha: GIT_SHA, ref: 'refs/heads/main' }, runUrl: '', output: output() }, recordingLogger());
    expect(release.manifest.stack?.health.map((h) => [h.service, h.port])).toContainEqual(['titan-brain', 3100]);
    expect(release.manifest.stack?.health.map((h) => [h.service, h.port])).toContainEqual(['nats', 8222]);
  });

  it('an output release folder that exists already, leaving it untouched', async () => {
    const digests = await digestsFor(services);
    const createdAt = new Date('2026-11-22T10:11:12Z');
    const request = { source: EXAMPLE_SOURCE, selection: { digests }, signingKey: generateReleaseKey(), git: { sha: GIT_SHA, ref: '' }, runUrl: '', createdAt, output: output() };
    const first = await signRelease(request, recordingLogger());
    const before = await readFile(join(first.dir, 'manifest.sig'));
    await expect(signRelease({ ...request, signingKey: generateReleaseKey() }, recordingLogger())).rejects.toThrow(/already exists; a release folder is written once/);
    expect((await readFile(join(first.dir, 'manifest.sig'))).equals(before)).toBe(true);
    expect(await readdir(output())).toEqual([first.manifest.releaseId]);
  });
});
