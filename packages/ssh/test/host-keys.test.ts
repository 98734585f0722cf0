import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HostKeyMismatchError, SshConfigError } from '@titan/ssh/errors';
import { fingerprintOf, keyTypeOf, knownHostsName, parseHostKeyPins } from '@titan/ssh/host-key-pins';
import { HostKeyPolicy } from '@titan/ssh/host-keys';

interface Key {
  type: string;
  base64: string;
  blob: Buffer;
  pub: string;
  /** The fingerprint as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

const dir = mkdtempSync(join(tmpdir(), 'titan-host-keys-'));
const keys: Record<string, Key> = {};

function makeKey(name: string, args: string[]): Key {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@test`, '-f', path, ...args]);
  const pub = readFileSync(`${path}.pub`, 'utf8').trim();
  const [type = '', base64 = ''] = pub.split(' ');
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
  return { type, base64, blob: Buffer.from(base64, 'base64'), pub, fingerprint };
}

function key(name: string): Key {
  const k = keys[name];
  if (!k) throw new Error(`no key ${name}`);
  return k;
}

beforeAll(() => {
  keys.ed = makeKey('ed', ['-t', 'ed25519']);
  keys.ed2 = makeKey('ed2', ['-t', 'ed25519']);
  keys.rsa = makeKey('rsa', ['-t', 'rsa', '-b', '2048']);
  keys.ecdsa = makeKey('ecdsa', ['-t', 'ecdsa', '-b', '256']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function line(hosts: string, k: Key): string {
  return `${hosts} ${k.type} ${k.base64}`;
}

function refusal(policy: HostKeyPolicy, blob: Buffer): HostKeyMismatchError {
  const verdict = policy.check(blob);
  if (verdict.accepted) throw new Error('expected a refusal');
  return verdict.error;
}

describe('fingerprints', () => {
  test('match what ssh-keygen -lf prints, for every key type', () => {
    for (const name of ['ed', 'rsa', 'ecdsa']) {
      expect(fingerprintOf(key(name).blob)).toBe(key(name).fingerprint);
      expect(keyTypeOf(key(name).blob)).toBe(key(name).type);
    }
  });

  test('known_hosts names: bare on port 22, [host]:port otherwise', () => {
    expect(knownHostsName('Example.COM', 22)).toBe('example.com');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });
});

describe('HostKeyPolicy', () => {
  test('a [host]:port line pins that host and port only', () => {
    const entry = line('[127.0.0.1]:2222', key('ed'));
    expect(HostKeyPolicy.fromEntries([entry], '127.0.0.1', 2222).check(key('ed').blob).accepted).toBe(true);
    expect(() => HostKeyPolicy.fromEntries([entry], '127.0.0.1', 22)).toThrow(/^No pin for this host: no known_hosts entry names 127\.0\.0\.1 .* are for \[127\.0\.0\.1\]:2222\./);
    expect(() => HostKeyPolicy.fromEntries([entry], '127.0.0.2', 2222)).toThrow(SshConfigError);
    expect(HostKeyPolicy.fromEntries([line('127.0.0.1', key('ed'))], '127.0.0.1', 22).check(key('ed').blob).accepted).toBe(true);
  });

  test('a different key for the host is refused, naming host, port, key type and fingerprint', () => {
    const policy = HostKeyPolicy.fromEntries([line('[127.0.0.1]:2222', key('ed'))], '127.0.0.1', 2222);
    const error = refusal(policy, key('ed2').blob);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error.message).toContain('127.0.0.1 port 2222');
    expect(error.message).toContain(`ssh-ed25519 key ${key('ed2').fingerprint}`);
    expect(error.message).toContain(key('ed').fingerprint);
    expect(error.keyType).toBe('ssh-ed25519');
    expect(error.fingerprint).toBe(key('ed2').fingerprint);
  });

  test('comma-separated hosts, wildcards and negations follow OpenSSH', () => {
    const entries = [line('deploy.example.com,[127.0.0.1]:2222', key('ed')), line('*.titan.example,!bad.titan.example', key('rsa'))];
    expect(HostKeyPolicy.fromEntries(entries, 'DEPLOY.example.com', 22).check(key('ed').blob).accepted).toBe(true);
    expect(HostKeyPolicy.fromEntries(entries, '127.0.0.1', 2222).check(key('ed').blob).accepted).toBe(true);
    expect(HostKeyPolicy.fromEntries(entries, 'a.titan.example', 22).check(key('rsa').blob).accepted).toBe(true);
    expect(() => HostKeyPolicy.fromEntries(entries, 'bad.titan.example', 22)).toThrow(/No pin for this host: .*for deploy\.example\.com,\[127\.0\.0\.1\]:2222, \*\.titan\.example,!bad\.titan\.example\./);
    expect(() => HostKeyPolicy.fromEntries(entries, 'titan.example', 22)).toThrow(/No pin for this host/);
  });

  test('a hashed entry made by ssh-keygen -H matches its host and port only', () => {
    const file = join(dir, 'known_hosts_hashed');
    writeFileSync(file, `${line('[127.0.0.1]:2222', key('ed'))}\n${line('deploy.example.com', key('rsa'))}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const hashed = readFileSync(file, 'utf8');
    expect(hashed).toMatch(/^\|1\|/m);
    expect(hashed).not.toContain('127.0.0.1');
    expect(HostKeyPolicy.fromEntries([hashed], '127.0.0.1', 2222).check(key('ed').blob).accepted).toBe(true);
    expect(HostKeyPolicy.fromEntries([hashed], 'deploy.example.com', 22).check(key('rsa').blob).accepted).toBe(true);
    expect(() => HostKeyPolicy.fromEntries([hashed], '127.0.0.1', 2223)).toThrow(/No pin for this host: .* are for a hashed host name\./);
    expect(HostKeyPolicy.fromEntries([hashed], 'deploy.example.com', 22).check(key('ed').blob).accepted).toBe(false);
  });

  test('several keys for one host (rotation): any of them is accepted', () => {
    const policy = HostKeyPolicy.fromEntries([line('[h]:2222', key('ed2')), line('[h]:2222', key('ed'))], 'h', 2222);
    expect(policy.check(key('ed').blob).accepted).toBe(true);
    expect(policy.check(key('ed2').blob).accepted).toBe(true);
    expect(policy.check(key('rsa').blob).accepted).toBe(false);
  });

  test('SHA256 fingerprints as ssh-keygen prints them (padding tolerated); MD5 refused', () => {
    const policy = HostKeyPolicy.fromEntries([key('rsa').fingerprint, `${key('ed').fingerprint}=`], 'any.host', 22);
    expect(policy.check(key('rsa').blob).accepted).toBe(true);
    expect(policy.check(key('ed').blob).accepted).toBe(true);
    expect(policy.check(key('ecdsa').blob).accepted).toBe(false);
    expect(() => HostKeyPolicy.fromEntries(['MD5:12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0'], 'h', 22)).toThrow(/MD5/);
    expect(() => HostKeyPolicy.fromEntries(['SHA256:tooshort'], 'h', 22)).toThrow(SshConfigError);
  });

  test('a bare public key (a host .pub file) pins the host being connected to', () => {
    const policy = HostKeyPolicy.fromEntries([key('ecdsa').pub], 'h', 2222);
    expect(policy.check(key('ecdsa').blob).accepted).toBe(true);
    expect(policy.check(key('ed').blob).accepted).toBe(false);
  });

  test('@revoked refuses a key even when it is also pinned', () => {
    const entries = [line('[h]:2222', key('ed')), line('[h]:2222', key('ed2')), `@revoked * ${key('ed').type} ${key('ed').base64}`];
    const policy = HostKeyPolicy.fromEntries(entries, 'h', 2222);
    const error = refusal(policy, key('ed').blob);
    expect(error.reason).toBe('revoked');
    expect(error.message).toMatch(/@revoked/);
    expect(policy.check(key('ed2').blob).accepted).toBe(true);
  });

  test('@cert-authority lines are not host keys: ignored and counted', () => {
    const entries = [`@cert-authority *.example ${key('rsa').type} ${key('rsa').base64}`, line('a.example', key('ed'))];
    const policy = HostKeyPolicy.fromEntries(entries, 'a.example', 22);
    expect(policy.ignoredCertAuthorities).toBe(1);
    expect(policy.check(key('rsa').blob).accepted).toBe(false);
    expect(policy.check(key('ed').blob).accepted).toBe(true);
  });

  test('comments and blank lines are skipped; a list with no pins is a configuration error', () => {
    expect(() => HostKeyPolicy.fromEntries([], 'h', 22)).toThrow(SshConfigError);
    expect(() => HostKeyPolicy.fromEntries(['# nothing here', '  '], 'h', 22)).toThrow(/No host key is pinned for h port 22/);
    expect(() => HostKeyPolicy.fromEntries([`@revoked * ${key('ed').type} ${key('ed').base64}`], 'h', 22)).toThrow(SshConfigError);
  });

  test('malformed pins are configuration errors naming the entry', () => {
    expect(() => parseHostKeyPins(['h ssh-ed25519 not*base64'])).toThrow(/entry 1 line 1/);
    expect(() => parseHostKeyPins([`h ssh-rsa ${key('ed').base64}`])).toThrow(/says it is "ssh-ed25519"/);
    expect(() => parseHostKeyPins([`@trusted h ${key('ed').type} ${key('ed').base64}`])).toThrow(/unknown marker/);
    expect(() => parseHostKeyPins(['accept-anything'])).toThrow(SshConfigError);
    expect(() => parseHostKeyPins([`|1|bad|hash ${key('ed').type} ${key('ed').base64}`])).toThrow(/hashed/);
  });

  test('pinned key types are offered first so the server presents a pinned key', () => {
    const rsaOnly = HostKeyPolicy.fromEntries([line('h', key('rsa'))], 'h', 22).hostKeyAlgorithms();
    expect(rsaOnly.slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(rsaOnly).toContain('ssh-ed25519');
    expect(HostKeyPolicy.fromEntries([key('ed').fingerprint], 'h', 22).hostKeyAlgorithms()[0]).toBe('ssh-ed25519');
  });
});
