import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { BundleVerificationError, verifyBundle } from '@titan/release/bundle-verifier';
import { readDigestFolder } from '@titan/release/image-digests';
import { parseManifest, type ReleaseManifest } from '@titan/release/manifest';
import { generateReleaseKey, publicKeyToBase64, publicKeyToPem, type ReleaseSigningKey } from '@titan/release/release-key';
import { signManifest } from '@titan/release/manifest-signature';
import { signRelease, type SignedRelease } from '@titan/release/sign-release';
import { CHECK_BUNDLE_SCRIPT, copyBundle, runHostScript, trustFolder } from './host-run.js';
import { EXAMPLE_SOURCE, exampleServices, fakeDigest, GIT_SHA, scratch, writeDigestFolder } from './release-fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let key: ReleaseSigningKey;
let other: ReleaseSigningKey;
let services: string[];
let signed: SignedRelease;
let trust: string;
let copies = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await scratch());
  key = generateReleaseKey();
  other = generateReleaseKey();
  services = await exampleServices();
  const digests = await readDigestFolder(await writeDigestFolder(join(dir, 'digests'), services));
  signed = await signRelease(
    {
      source: EXAMPLE_SOURCE,
      selection: { digests },
      signingKey: key,
      git: { sha: GIT_SHA, ref: 'refs/heads/main' },
      runUrl: 'https://github.com/titan/titan/actions/runs/42',
      createdAt: new Date('2026-11-22T10:11:12.345Z'),
      output: join(dir, 'out'),
    },
    recordingLogger(),
  );
  // The host's trust folder: PEM made by the OpenSSL CLI from DER (fixed prefix + raw key), not by our code.
  await writeFile(join(dir, 'release.der'), Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]));
  trust = join(dir, 'trust');
  await mkdir(trust);
  execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(dir, 'release.der'), '-out', join(trust, `${signed.manifest.keyId}.pem`)]);
});
afterAll(async () => cleanup());

async function filesOnDisk(root: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await filesOnDisk(root, path)));
    else found.push(path);
  }
  return found.sort();
}

async function tampered(change: (bundle: string) => Promise<void>): Promise<string> {
  copies += 1;
  const copy = await copyBundle(signed.dir, join(dir, 'copies', String(copies), signed.manifest.releaseId));
  await change(copy);
  return copy;
}

async function bothRefuse(bundle: string, reason: RegExp): Promise<BundleVerificationError> {
  const host = await runHostScript(dir, [bundle, trust]);
  expect(host.status, host.stdout).toBe(1);
  expect(host.stderr.trim().split('\n')).toHaveLength(1);
  expect(host.stderr).toMatch(/^verify-release: /);
  expect(host.stderr).toMatch(reason);
  let error: unknown;
  try {
    await verifyBundle(bundle, [key.publicKey]);
  } catch (e: unknown) {
    error = e;
  }
  expect(error).toBeInstanceOf(BundleVerificationError);
  expect((error as Error).message).toMatch(reason);
  return error as BundleVerificationError;
}

describe('sign examples/titan', () => {
  it('writes the bundle to <output>/<release id> with exactly the release files', async () => {
    expect(signed.dir).toBe(join(dir, 'out', '20261122T101112Z-0123456789ab'));
    expect(signed.manifest.releaseId).toBe('20261122T101112Z-0123456789ab');
    const onDisk = await filesOnDisk(signed.dir);
    const sourceConfig = (await readdir(join(EXAMPLE_SOURCE, 'config'))).map((n) => `config/${n}`);
    const sourceMigrations = (await readdir(join(EXAMPLE_SOURCE, 'migrations'))).map((n) => `migrations/${n}`);
    const expected = [
      'docker-compose.yml',
      'docker-compose.prod.yml',
      'docker-compose.secrets.yml',
      'docker-compose.digests.yml',
      ...sourceConfig,
      ...sourceMigrations,
      'manifest.json',
      'manifest.sig',
    ].sort();
    expect(onDisk).toEqual(expected);
    expect(onDisk).not.toContain('services.yml');
    expect(onDisk).not.toContain('production.env.template');
    for (const path of onDisk) expect((await stat(join(signed.dir, path))).mode & 0o777, path).toBe(0o644);
    expect(await readdir(join(dir, 'out'))).toEqual([signed.manifest.releaseId]);
  });

  it('lists every other file in the manifest with the sha256 and size of its bytes, sorted by path', async () => {
    const manifest = parseManifest(await readFile(join(signed.dir, 'manifest.json')));
    const listed = manifest.files.map((f) => f.path);
    expect(listed).toEqual((await filesOnDisk(signed.dir)).filter((p) => p !== 'manifest.json' && p !== 'manifest.sig'));
    for (const file of manifest.files) {
      const bytes = await readFile(join(signed.dir, file.path));
      expect(file.size, file.path).toBe(bytes.length);
      expect(file.sha256, file.path).toBe(createHash('sha256').update(bytes).digest('hex'));
      if (file.path !== 'docker-compose.digests.yml') expect(bytes.equals(await readFile(join(EXAMPLE_SOURCE, file.path))), file.path).toBe(true);
    }
  });

  it('records the release: git, run, key id, policy hash, compose order and every image digest', async () => {
    const manifest: ReleaseManifest = parseManifest(await readFile(join(signed.dir, 'manifest.json')));
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.git).toEqual({ sha: GIT_SHA, ref: 'refs/heads/main' });
    expect(manifest.runUrl).toBe('https://github.com/titan/titan/actions/runs/42');
    expect(manifest.createdAt).toBe('2026-11-22T10:11:12Z');
    expect(manifest.keyId).toMatch(/^ed25519-[0-9a-f]{16}$/);
    expect(manifest.policy).toEqual({
      path: 'config/policy.json',
      sha256: createHash('sha256').update(await readFile(join(EXAMPLE_SOURCE, 'config/policy.json'))).digest('hex'),
    });
    expect(manifest.compose).toEqual(['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.secrets.yml', 'docker-compose.digests.yml']);
    expect(Object.keys(manifest.images).sort()).toEqual([...services].sort());
    expect(manifest.images['titan-execution']).toEqual({ image: '127.0.0.1:5000/titan/titan-execution-rs', digest: fakeDigest('titan-execution') });
    expect(manifest.images['titan-console-api']?.digest).toBe(fakeDigest('titan-console-api'));
    expect(manifest.images['titan-opsd']?.digest).toBe(fakeDigest('titan-opsd'));
    // The stack profile of examples/titan/stack.yml, signed in with the rest.
    expect(manifest.stack?.groups.map((g) => [g.name, g.trading, g.services.length])).toEqual([
      ['strategies', true, 5],
      ['execution', true, 1],
      ['brain', true, 1],
      ['operator', false, 3],
    ]);
    expect(manifest.stack?.infrastructure).toEqual(['postgres', 'redis', 'nats', 'traefik', 'prometheus', 'grafana', 'titan-tempo']);
    expect(manifest.stack?.health.find((h) => h.service === 'titan-brain')).toEqual({ service: 'titan-brain', port: 3100, path: '/health', body: 'status-and-service' });
    expect(manifest.stack?.health.find((h) => h.service === 'nats')).toEqual({ service: 'nats', port: 8222, path: '/healthz', body: 'status' });
    expect(manifest.stack?.policyReporters).toEqual(['titan-brain', 'titan-execution']);
    expect(manifest.stack?.database).toEqual({ service: 'postgres', name: 'titan', user: 'titan' });
    expect(manifest.stack?.halt).toEqual({ subject: 'titan.cmd.sys.halt', responder: 'titan-brain' });
    expect(manifest.stack?.critical).toEqual(['titan-execution']);
  });

  it('pins every compose service by digest, as docker compose itself merges the files', async () => {
    const override = parse(await readFile(join(signed.dir, 'docker-compose.digests.yml'), 'utf8')) as { services: Record<string, { image: string }> };
    expect(Object.keys(override.services).sort()).toEqual([...services].sort());
    const config = spawnSync(
      'docker-compose',
      ['--env-file', join(EXAMPLE_SOURCE, 'production.env.template'), ...signed.manifest.compose.flatMap((f) => ['-f', f]), 'config'],
      { cwd: signed.dir, encoding: 'utf8' },
    );
    expect(config.status, config.stderr).toBe(0);
    const merged = parse(config.stdout) as { services: Record<string, { image: string }> };
    for (const service of services) {
      const image = signed.manifest.images[service];
      expect(merged.services[service]?.image, service).toBe(`${image?.image}@${fakeDigest(service)}`);
    }
  });

  it('writes a signature the OpenSSL CLI verifies with the PEM public key, over manifest.json exactly', () => {
    const out = execFileSync(
      'openssl',
      ['pkeyutl', '-verify', '-pubin', '-inkey', join(trust, `${signed.manifest.keyId}.pem`), '-rawin', '-in', 'manifest.json', '-sigfile', 'manifest.sig'],
      { cwd: signed.dir, encoding: 'utf8' },
    );
    expect(out).toMatch(/Signature Verified Successfully/);
  });

  it('passes sha256sum -c --strict over the files the manifest lists', async () => {
    const manifest = JSON.parse(await readFile(join(signed.dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
    const sums = manifest.files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
    await writeFile(join(dir, 'sums'), sums);
    const check = spawnSync('sha256sum', ['-c', '--strict', join(dir, 'sums')], { cwd: signed.dir, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout.trim().split('\n')).toHaveLength(manifest.files.length);
  });

  it('verifies on the host (sh, openssl, sha256sum) and on the runner', async () => {
    const host = await runHostScript(dir, [signed.dir, trust, signed.manifest.releaseId]);
    expect(host.stderr).toBe('');
    expect(host.status).toBe(0);
    expect(host.stdout).toBe(`verified ${signed.manifest.releaseId} ${join(trust, `${signed.manifest.keyId}.pem`)}\n`);
    const verified = await verifyBundle(signed.dir, [other.publicKey, key.publicKey]);
    expect(verified.keyIndex).toBe(1);
    expect(verified.manifest).toEqual(signed.manifest);
  });

  it('verifies on the host when the script comes on stdin or as sh -c text, with the key its keyId names among others, as a .pub (raw base64) key', async () => {
    const several = await trustFolder(join(dir, 'trust-several'), {
      'a-old.pem': publicKeyToPem(other.publicKey),
      [`${signed.manifest.keyId}.pub`]: `${publicKeyToBase64(key.publicKey)}\n`,
    });
    for (const as of ['stdin', 'argument'] as const) {
      const host = await runHostScript(dir, [signed.dir, several], { as });
      expect(host.stderr, as).toBe('');
      expect(host.status, as).toBe(0);
      expect(host.stdout, as).toBe(`verified ${signed.manifest.releaseId} ${join(several, `${signed.manifest.keyId}.pub`)}\n`);
    }
  });

  it("refuses on the host a manifest whose keyId does not name the trusted key that verifies it, and a revoked key", async () => {
    const keyId = signed.manifest.keyId;
    // The right key, under another name: the manifest's keyId names no trusted key.
    const renamed = await trustFolder(join(dir, 'trust-renamed'), { 'release.pem': publicKeyToPem(key.publicKey) });
    expect((await runHostScript(dir, [signed.dir, renamed])).stderr).toBe(
      `verify-release: manifest.json names key ${keyId}, which is not one of the 1 trusted key(s) in ${renamed} (no ${keyId}.pem or ${keyId}.pub)\n`,
    );
    // The name it gives holds another trusted key: that key does not verify it, whatever else does.
    const swapped = await trustFolder(join(dir, 'trust-swapped'), { [`${keyId}.pem`]: publicKeyToPem(other.publicKey), 'good.pem': publicKeyToPem(key.publicKey) });
    expect((await runHostScript(dir, [signed.dir, swapped])).stderr).toBe(
      `verify-release: manifest.sig does not verify manifest.json against ${join(swapped, `${keyId}.pem`)}, the trusted key its keyId (${keyId}) names\n`,
    );
    // Moved to revoked/: verifies nothing; copied there while kept under its name (or as a .pub): the same.
    const moved = await trustFolder(join(dir, 'trust-moved'), { 'other.pem': publicKeyToPem(other.publicKey), [`revoked/${keyId}.pem`]: publicKeyToPem(key.publicKey) });
    expect((await runHostScript(dir, [signed.dir, moved])).stderr).toBe(`verify-release: manifest.json names key ${keyId}, which is revoked (${join(moved, 'revoked', `${keyId}.pem`)})\n`);
    const kept = await trustFolder(join(dir, 'trust-kept'), { [`${keyId}.pem`]: publicKeyToPem(key.publicKey), 'revoked/compromised-2026.pub': publicKeyToBase64(key.publicKey) });
    const refused = await runHostScript(dir, [signed.dir, kept]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      `verify-release: manifest.json names key ${keyId}, whose key is revoked: ${join(kept, `${keyId}.pem`)} holds the same key as ${join(kept, 'revoked', 'compromised-2026.pub')}\n`,
    );
    // Another key revoked: no effect.
    const unrelated = await trustFolder(join(dir, 'trust-unrelated'), { [`${keyId}.pem`]: publicKeyToPem(key.publicKey), 'revoked/old.pem': publicKeyToPem(other.publicKey) });
    expect((await runHostScript(dir, [signed.dir, unrelated])).status).toBe(0);
  });

  it('needs nothing on the host but openssl, sha256sum, coreutils, grep and sed', async () => {
    // The script's own PATH line swapped for a folder holding only these tools: anything else it ran would be "not found".
    const tools = ['openssl', 'sha256sum', 'grep', 'sed', 'mktemp', 'rm', 'wc', 'tr', 'sort', 'uniq', 'comm', 'head', 'cat'];
    const bin = join(dir, 'only-these-tools');
    await mkdir(bin);
    for (const tool of tools) await symlink(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    const line = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n';
    expect(CHECK_BUNDLE_SCRIPT).toContain(line);
    const restricted = join(dir, 'restricted.sh');
    await writeFile(restricted, CHECK_BUNDLE_SCRIPT.replace(line, `PATH=${bin}\n`));
    const run = (bundle: string, trustDir: string) => spawnSync('/bin/sh', [restricted, bundle, trustDir], { encoding: 'utf8', env: { PATH: bin } });
    const ok = run(signed.dir, trust);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const several = await trustFolder(join(dir, 'trust-pub'), { [`${signed.manifest.keyId}.pub`]: publicKeyToBase64(key.publicKey) });
    expect(run(signed.dir, several).status).toBe(0);
    const changedFile = await tampered(async (bundle) => appendFile(join(bundle, 'migrations/0001_accounts_and_orders.sql'), '-- more\n'));
    expect(run(changedFile, trust).stderr).toMatch(/^verify-release: migrations\/0001_accounts_and_orders\.sql is \d+ bytes/);
    const flipped = await tampered(async (bundle) => writeFile(join(bundle, 'config/policy.json'), (await readFile(join(bundle, 'config/policy.json'), 'utf8')).replace('DISARMED', 'ARMED!!!')));
    expect(run(flipped, trust).stderr).toBe('verify-release: config/policy.json does not match its sha256 in manifest.json\n');
  });

  it('refuses on the host a bundle that is not the release id deploy expects', async () => {
    const host = await runHostScript(dir, [signed.dir, trust, '20990101T000000Z-ffffffffffff']);
    expect(host.status).toBe(1);
    expect(host.stderr).toBe(`verify-release: manifest.json is release ${signed.manifest.releaseId}, not 20990101T000000Z-ffffffffffff\n`);
  });

  it('refuses when the trust folder holds no key, or only other keys', async () => {
    const empty = await trustFolder(join(dir, 'trust-empty'), {});
    expect((await runHostScript(dir, [signed.dir, empty])).stderr).toMatch(/^verify-release: no trusted key in /);
    const wrong = await trustFolder(join(dir, 'trust-wrong'), { 'other.pem': publicKeyToPem(other.publicKey) });
    const host = await runHostScript(dir, [signed.dir, wrong]);
    expect(host.status).toBe(1);
    expect(host.stderr).toMatch(/manifest\.json names key ed25519-[0-9a-f]{16}, which is not one of the 1 trusted key\(s\)/);
    await expect(verifyBundle(signed.dir, [other.publicKey])).rejects.toThrow(/not a valid signature of manifest\.json by any of the 1 trusted key/);
  });
});

describe('strings that try to look like manifest structure', () => {
  it('stay inert: the host reads the real release id and file list whatever the git ref says', async () => {
    const ref = 'refs/heads/"x"},"releaseId":"evil","runUrl":"" {"path":"evil","sha256":"' + 'a'.repeat(64) + '","size":1} \u00e9\u{1f600}';
    const digests = await readDigestFolder(await writeDigestFolder(join(dir, 'digests-odd'), services));
    const odd = await signRelease(
      { source: EXAMPLE_SOURCE, selection: { digests }, signingKey: key, git: { sha: GIT_SHA, ref }, runUrl: '', createdAt: new Date('2026-11-22T10:11:13Z'), output: join(dir, 'out-odd') },
      recordingLogger(),
    );
    expect(parseManifest(await readFile(join(odd.dir, 'manifest.json'))).git.ref).toBe(ref);
    const host = await runHostScript(dir, [odd.dir, trust, '20261122T101113Z-0123456789ab']);
    expect(host.stderr).toBe('');
    expect(host.stdout).toBe(`verified 20261122T101113Z-0123456789ab ${join(trust, `${odd.manifest.keyId}.pem`)}\n`);
  });
});

describe('a changed bundle is refused on the host and on the runner', () => {
  it('refuses a one-byte change in EVERY file of the bundle, naming the file', async () => {
    const everyFile = await filesOnDisk(signed.dir);
    expect(everyFile).toHaveLength(signed.manifest.files.length + 2);
    for (const path of everyFile) {
      const copy = await tampered(async (bundle) => {
        const bytes = await readFile(join(bundle, path));
        const at = Math.floor(bytes.length / 2);
        bytes[at] = (bytes[at] ?? 0) ^ 0x01;
        await writeFile(join(bundle, path), bytes);
      });
      const reason =
        path === 'manifest.json' || path === 'manifest.sig'
          ? /manifest\.sig (does not verify manifest\.json|is not a valid signature of manifest\.json)/
          : new RegExp(`${path.replace(/\./g, '\\.')} does not match its sha256`);
      const error = await bothRefuse(copy, reason);
      expect(error.check, path).toBe(path.startsWith('manifest.') ? 'signature' : 'sha256');
    }
  });

  it('refuses a manifest signed by another key', async () => {
    const copy = await tampered(async (bundle) => {
      await writeFile(join(bundle, 'manifest.sig'), signManifest(await readFile(join(bundle, 'manifest.json')), other));
    });
    await bothRefuse(copy, /manifest\.sig (does not verify|is not a valid signature)/);
  });

  it('refuses a changed image digest in the manifest (the signature no longer matches)', async () => {
    const copy = await tampered(async (bundle) => {
      const text = await readFile(join(bundle, 'manifest.json'), 'utf8');
      const changed = text.replace(fakeDigest('titan-brain'), fakeDigest('titan-brain', 'attacker'));
      expect(changed).not.toBe(text);
      await writeFile(join(bundle, 'manifest.json'), changed);
    });
    await bothRefuse(copy, /manifest\.sig (does not verify|is not a valid signature)/);
  });

  it('refuses an unlisted extra file, at the top or in a folder', async () => {
    for (const extra of ['extra.yml', 'config/extra.conf', 'migrations/0004_sneaky.sql']) {
      const copy = await tampered(async (bundle) => writeFile(join(bundle, extra), 'x\n'));
      const error = await bothRefuse(copy, new RegExp(`${extra.replace(/\./g, '\\.')} is in the bundle but not listed in`));
      expect(error.path).toBe(extra);
    }
  });

  it('refuses a removed file', async () => {
    const copy = await tampered(async (bundle) => rm(join(bundle, 'migrations/0002_fills_and_positions.sql')));
    const error = await bothRefuse(copy, /migrations\/0002_fills_and_positions\.sql is listed in (the manifest|manifest\.json) but missing from the bundle/);
    expect(error.check).toBe('missing');
  });

  it('refuses a file grown by one byte (size) and a file replaced by a symbolic link', async () => {
    const grown = await tampered(async (bundle) => appendFile(join(bundle, 'config/nats.conf'), '\n'));
    await bothRefuse(grown, /config\/nats\.conf is \d+ bytes; (the manifest|manifest\.json) says \d+/);
    const linked = await tampered(async (bundle) => {
      await writeFile(join(bundle, 'nats.conf.real'), await readFile(join(bundle, 'config/nats.conf')));
      await rm(join(bundle, 'config/nats.conf'));
      await symlink('../nats.conf.real', join(bundle, 'config/nats.conf'));
    });
    await bothRefuse(linked, /config\/nats\.conf is a symbolic link; a bundle holds regular files only/);
  });

  it('refuses an empty folder and a name outside the safe charset', async () => {
    const empty = await tampered(async (bundle) => mkdir(join(bundle, 'config/extra')));
    await bothRefuse(empty, /config\/extra\/ is an empty folder/);
    const odd = await tampered(async (bundle) => writeFile(join(bundle, 'config/odd\nname'), 'x'));
    const host = await runHostScript(dir, [odd, trust]);
    expect(host.status).toBe(1);
    expect(host.stderr).toBe('verify-release: the bundle holds a name outside [A-Za-z0-9._-]: ./config/odd?name\n');
    await expect(verifyBundle(odd, [key.publicKey])).rejects.toThrow(/"config\/odd\\nname" is in the bundle but not listed in the manifest/);
  });
});
