/**
 * JumpHost's one shared connection, against the real test host used as its own bastion (its sshd
 * forwards to its own 127.0.0.1:PORT): hosts connected at once through one JumpHost share ONE
 * bastion connection, counted by JumpHost and by sshd's "Accepted publickey" lines; the last close
 * closes it, and the next use opens a new one. Commands run over the connections through it.
 */
import { describe, expect, it } from 'vitest';
import { connectSsh } from '@titan/ssh/connect';
import { SshConfigError } from '@titan/ssh/errors';
import { JumpHost } from '@titan/ssh/jump-host';
import { hostOptions, sshdLogFrom } from './support.js';

const logins = (log: string): number => log.split('\n').filter((l) => l.includes('Accepted publickey for ')).length;

describe('JumpHost', () => {
  it('three connections through one JumpHost share one bastion connection; the last close closes it; the next use reopens', async () => {
    const log = sshdLogFrom();
    const jump = new JumpHost(hostOptions());
    const targets = await Promise.all([1, 2, 3].map(() => connectSsh({ ...hostOptions(), via: jump })));
    const answers = await Promise.all(targets.map((t) => t.run(['echo', 'through the bastion'])));
    expect(answers.map((a) => a.stdout.trim())).toEqual(['through the bastion', 'through the bastion', 'through the bastion']);
    expect(jump.connectionsOpened).toBe(1);
    expect(logins(log())).toBe(4); // the bastion once, the three hosts behind it
    await Promise.all(targets.map((t) => t.close()));
    const again = await connectSsh({ ...hostOptions(), via: jump });
    expect((await again.run(['true'])).exitCode).toBe(0);
    await again.close();
    expect(jump.connectionsOpened).toBe(2);
  });

  it('a caller holding a lease keeps the one connection across hosts opened one after the other', async () => {
    const jump = new JumpHost(hostOptions());
    const lease = await jump.acquire();
    try {
      for (let i = 0; i < 3; i++) {
        const target = await connectSsh({ ...hostOptions(), via: jump });
        await target.close();
      }
    } finally {
      await lease.release();
    }
    expect(jump.connectionsOpened).toBe(1);
  });

  it('pins that do not name the bastion are refused before anything is sent, with the known-hosts text, naming the bastion', () => {
    const options = hostOptions({ hostKeys: ['other.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnRw7ROo47y7nNXz4yKrk/Usjo/D+Gmi6NLSoXOaNd4'] });
    expect(() => new JumpHost(options)).toThrow(SshConfigError);
    expect(() => new JumpHost(options)).toThrow(`The bastion (jump-host) ${options.host} port ${options.port}: No pin for this host: no known_hosts entry names`);
  });
});
