import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { hostConnectOptions, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
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
