import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { hostConnectOptions, parseJumpHost, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { consoleLogger } from '@titan/log/logger';

const PIN = 'droplet.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnRw7ROo47y7nNXz4yKrk/Usjo/D+Gmi6NLSoXOaNd4';
const FINGERPRINT = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

function reader(values: Record<string, string>): InputReader {
  return new InputReader({ get: (name) => values[name] ?? '' });
}

const base = (): Record<string, string> => ({ host: 'droplet.example.com', 'ssh-key': 'not-a-real-key', 'known-hosts': PIN });

/** The ConfigurationError `read` throws (fails the test when it throws nothing or something else). */
function refusal(read: () => unknown): ConfigurationError {
  try {
    read();
  } catch (error: unknown) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('no ConfigurationError was thrown');
}

describe('readHostConnection', () => {
  it('applies the defaults and returns the pins one a line', () => {
    const settings = readHostConnection(reader({ ...base(), 'known-hosts': `# pinned out of band\n${PIN}\n\n  ${FINGERPRINT}  \n` }));
    expect(settings).toEqual({ host: 'droplet.example.com', port: 22, user: 'deploy', sshKey: 'not-a-real-key', knownHosts: [PIN, FINGERPRINT] });
  });

  it('reads host first: with no inputs at all, host is the input named, with the hint of the action', () => {
    expect(refusal(() => readHostConnection(reader({}))).input).toBe('host');
    expect(() => readHostConnection(reader({}), { host: 'the Droplet to verify' })).toThrow(
      new ConfigurationError('Input required and not supplied: host (the Droplet to verify)', { input: 'host' }),
    );
  });

  it('refuses a host that is not a name or an address', () => {
    for (const host of ['droplet example', 'host;reboot', '$(id)', 'a/b', 'droplet\n', '-oProxyCommand=x', 'a..b']) {
      const error = refusal(() => readHostConnection(reader({ ...base(), host })));
      expect(error.input).toBe('host');
      expect(error.message).toBe(`Input host ${JSON.stringify(host)} is not a hostname or an IP address.`);
    }
    for (const host of ['127.0.0.1', '::1', '2001:db8::1', 'titan-prod-1.example.com', 'droplet']) {
      expect(readHostConnection(reader({ ...base(), host })).host).toBe(host);
    }
  });

  it('takes an IPv6 literal with or without brackets (the connection gets it bare), and refuses a malformed one at once', () => {
    expect(readHostConnection(reader({ ...base(), host: '[2001:db8::1]' })).host).toBe('2001:db8::1');
    expect(readHostConnection(reader({ ...base(), host: '[::1]' })).host).toBe('::1');
    for (const host of ['[::1]:2222', '2001:db8:::1', '[titan.example.com]', 'fe80::1::2', '::g']) {
      const error = refusal(() => readHostConnection(reader({ ...base(), host })));
      expect(error.input).toBe('host');
      expect(error.message).toBe(`Input host ${JSON.stringify(host)} is not an IPv6 address (write one as 2001:db8::7 or [2001:db8::7], without a port: the port is its own input).`);
    }
    for (const host of ['999.1.1.1', '10.0.0']) {
      expect(refusal(() => readHostConnection(reader({ ...base(), host }))).message).toBe(`Input host ${JSON.stringify(host)} is not an IPv4 address.`);
    }
  });

  it('requires the SSH key, with the hint of the action', () => {
    const error = refusal(() => readHostConnection(reader({ ...base(), 'ssh-key': '' }), { sshKey: 'e.g. secrets.TITAN_SSH_KEY' }));
    expect(error.input).toBe('ssh-key');
    expect(error.message).toBe('Input required and not supplied: ssh-key (e.g. secrets.TITAN_SSH_KEY)');
  });

  it('requires a host key to pin, and says what one looks like', () => {
    for (const knownHosts of ['', '\n  \n', '# only a comment\n']) {
      const error = refusal(() => readHostConnection(reader({ ...base(), 'known-hosts': knownHosts })));
      expect(error.input).toBe('known-hosts');
      expect(error.message).toBe(
        'Input required and not supplied: known-hosts (the host key to pin: a known_hosts line checked out of band, the bare public key, or its SHA256: fingerprint)',
      );
    }
  });

  it('checks the port range and the user name', () => {
    expect(readHostConnection(reader({ ...base(), port: '2222', user: 'titan_ops' }))).toMatchObject({ port: 2222, user: 'titan_ops' });
    expect(() => readHostConnection(reader({ ...base(), port: '70000' }))).toThrow('Input port must be at most 65535');
    expect(() => readHostConnection(reader({ ...base(), port: '0' }))).toThrow('Input port must be at least 1');
    expect(() => readHostConnection(reader({ ...base(), port: 'ssh' }))).toThrow('Input port must be a whole number');
    for (const user of ['Deploy', 'root;id', 'de ploy', '-deploy', '$(id)']) {
      const error = refusal(() => readHostConnection(reader({ ...base(), user })));
      expect(error.input).toBe('user');
      expect(error.message).toMatch(new RegExp(`^Input user ${JSON.stringify(user).replace(/[$()[\]\\.*+?^{}|]/g, '\\$&')} is not a user name`));
    }
  });
});

describe('readHostTarget', () => {
  it('applies the defaults', () => {
    expect(readHostTarget(reader({}))).toEqual({ appDir: '/opt/titan', project: 'titan' });
    expect(readHostTarget(reader({ 'app-dir': '/srv/titan-prod', project: 'titan_prod-2' }))).toEqual({ appDir: '/srv/titan-prod', project: 'titan_prod-2' });
  });

  it("refuses an app-dir the host's layout rules refuse, naming it", () => {
    const cases: [string, RegExp][] = [
      ['/tmp/x$(touch /tmp/pwned)', /^Input app-dir "\/tmp\/x\$\(touch \/tmp\/pwned\)" is not usable: it must be an absolute path/],
      ['/opt/titan/../../etc', /^Input app-dir "\/opt\/titan\/\.\.\/\.\.\/etc" is not usable: it must not contain "\." or "\.\." segments\.$/],
      ['/opt/./titan', /must not contain "\." or "\.\." segments/],
      ['/opt/titan/', /must not contain empty segments or end with "\/"/],
      ['/', /it must be an absolute path made of/],
      ['/opt//titan', /must not contain empty segments/],
      ['opt/titan', /it must be an absolute path/],
    ];
    for (const [appDir, message] of cases) {
      const error = refusal(() => readHostTarget(reader({ 'app-dir': appDir })));
      expect(error.input).toBe('app-dir');
      expect(error.message).toMatch(message);
    }
  });

  it('refuses a project that is not a Compose project name, naming it', () => {
    for (const project of ['titan;touch /tmp/pwned', 'Titan', '-titan', 'x'.repeat(64)]) {
      const error = refusal(() => readHostTarget(reader({ project })));
      expect(error.input).toBe('project');
      expect(error.message.startsWith(`Input project ${JSON.stringify(project)} is not a Compose project name: it must`)).toBe(true);
    }
  });
});

describe('hostConnectOptions', () => {
  it('is what connectSsh takes: the user as username, the key, the pins', () => {
    const logger = consoleLogger();
    const settings = readHostConnection(reader({ ...base(), port: '2222', 'known-hosts': `${PIN}\n${FINGERPRINT}` }));
    expect(hostConnectOptions(settings, logger)).toEqual({
      host: 'droplet.example.com',
      port: 2222,
      username: 'deploy',
      privateKey: 'not-a-real-key',
      hostKeys: [PIN, FINGERPRINT],
      logger,
    });
  });
});

describe('jump-host and the bastion inputs', () => {
  const BASTION_PIN = '[bastion.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnRw7ROo47y7nNXz4yKrk/Usjo/D+Gmi6NLSoXOaNd4';

  it('takes host, host:port, user@host and user@host:port; an IPv6 address bare or in brackets with a port', () => {
    expect(parseJumpHost('bastion.example.com')).toEqual({ host: 'bastion.example.com', port: 22 });
    expect(parseJumpHost('bastion.example.com:2222')).toEqual({ host: 'bastion.example.com', port: 2222 });
    expect(parseJumpHost('ops@bastion.example.com')).toEqual({ user: 'ops', host: 'bastion.example.com', port: 22 });
    expect(parseJumpHost('ops@10.0.0.5:2222')).toEqual({ user: 'ops', host: '10.0.0.5', port: 2222 });
    expect(parseJumpHost('2001:db8::7')).toEqual({ host: '2001:db8::7', port: 22 });
    expect(parseJumpHost('ops@[2001:db8::7]:2222')).toEqual({ user: 'ops', host: '2001:db8::7', port: 2222 });
    for (const bad of ['', 'ops@', 'Bad User@host', 'host:0', 'host:65536', 'host:ssh', 'a b', 'host;reboot', '[bastion.example.com]:22']) {
      expect('problem' in parseJumpHost(bad), bad).toBe(true);
    }
  });

  it('reads the bastion: its own user, key and pins; the user and key default to the host\'s', () => {
    const own = readHostConnection(reader({ ...base(), 'jump-host': 'ops@bastion.example.com:2222', 'jump-ssh-key': 'bastion-key', 'jump-known-hosts': BASTION_PIN }));
    expect(own.jump).toEqual({ host: 'bastion.example.com', port: 2222, user: 'ops', sshKey: 'bastion-key', knownHosts: [BASTION_PIN] });
    const defaults = readHostConnection(reader({ ...base(), 'ssh-key-passphrase': 'pw', user: 'titan', 'jump-host': 'bastion.example.com:2222', 'jump-known-hosts': BASTION_PIN }));
    expect(defaults.jump).toEqual({ host: 'bastion.example.com', port: 2222, user: 'titan', sshKey: 'not-a-real-key', sshKeyPassphrase: 'pw', knownHosts: [BASTION_PIN] });
    expect(readHostConnection(reader({ ...base(), 'jump-host': 'bastion.example.com:2222', 'jump-user': 'ops', 'jump-known-hosts': BASTION_PIN })).jump?.user).toBe('ops');
    expect(readHostConnection(reader(base())).jump).toBeUndefined();
  });

  it('refuses a bastion without pins, a bad jump-host, two different users, and jump inputs without jump-host', () => {
    const noPin = refusal(() => readHostConnection(reader({ ...base(), 'jump-host': 'bastion.example.com' })));
    expect(noPin.input).toBe('jump-known-hosts');
    expect(noPin.message).toBe(
      "Input required and not supplied: jump-known-hosts (the bastion's host key to pin: a known_hosts line checked out of band, the bare public key, or its SHA256: fingerprint)",
    );
    expect(refusal(() => readHostConnection(reader({ ...base(), 'jump-host': 'bastion:99999', 'jump-known-hosts': BASTION_PIN }))).message).toBe(
      'Input jump-host "bastion:99999": the port "99999" is not a TCP port (1-65535).',
    );
    expect(refusal(() => readHostConnection(reader({ ...base(), 'jump-host': 'ops@bastion', 'jump-user': 'root', 'jump-known-hosts': BASTION_PIN }))).input).toBe('jump-user');
    for (const name of ['jump-user', 'jump-ssh-key', 'jump-known-hosts']) {
      const error = refusal(() => readHostConnection(reader({ ...base(), [name]: name === 'jump-known-hosts' ? BASTION_PIN : 'ops' })));
      expect(error.input).toBe(name);
      expect(error.message).toBe(`Input ${name} is only for a host reached through a bastion: give jump-host too, or leave ${name} empty.`);
    }
  });

  it('the bastion\'s pins follow the rules of known-hosts, with the same refusal, naming the bastion, before anything is sent', () => {
    const settings = readHostConnection(reader({ ...base(), 'jump-host': 'bastion.example.com', 'jump-known-hosts': BASTION_PIN }));
    expect(() => hostConnectOptions(settings, consoleLogger())).toThrow(
      'The bastion (jump-host) bastion.example.com port 22: No pin for this host: no known_hosts entry names bastion.example.com (bastion.example.com port 22); the 1 pinned key(s) are for [bastion.example.com]:2222. Nothing was sent.',
    );
    const dir = mkdtempSync(join(tmpdir(), 'titan-jump-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    const key = readFileSync(join(dir, 'k'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    const pinned = readHostConnection(reader({ ...base(), 'jump-host': 'bastion.example.com:2222', 'jump-ssh-key': key, 'jump-known-hosts': BASTION_PIN }));
    expect(hostConnectOptions(pinned, consoleLogger()).via?.label).toBe('bastion.example.com port 2222');
  });
});
