/**
 * The hosts list as an operator writes it, and the order a rolling deploy takes: every problem of
 * the list reported at once by host, and the batches (the first host alone, then batch-size at a time).
 */
import { describe, expect, it } from 'vitest';
import { FleetHostsError, parseFleetHosts } from '../src/fleet-hosts.js';
import { eachLimited, rollingBatches } from '../src/rolling-batches.js';

const DEFAULTS = { port: 22, user: 'deploy', projectProblem: (p: string) => (/^[a-z0-9][a-z0-9_-]*$/.test(p) ? undefined : 'lower-case letters, digits, _ and -') };
const PIN = '10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMgCqJcp8k44rPL7bDmejH41Qwgy9sIDQD4v0iOelbeT';

describe('the hosts list', () => {
  it('reads name, address, port, user, per-host pins (string or list), app-dir and project, with the defaults', () => {
    const hosts = parseFleetHosts(
      `- name: eu-1\n  address: 10.0.0.1\n  known-hosts: |\n    # pinned out of band\n    ${PIN}\n- name: eu-2\n  address: "[2001:db8::7]"\n  port: 2200\n  user: ops\n  project: eu2\n  known-hosts: [SHA256:abc, SHA256:def]\n`,
      DEFAULTS,
    );
    expect(hosts).toEqual([
      { name: 'eu-1', address: '10.0.0.1', port: 22, user: 'deploy', knownHosts: [PIN] },
      { name: 'eu-2', address: '2001:db8::7', port: 2200, user: 'ops', project: 'eu2', knownHosts: ['SHA256:abc', 'SHA256:def'] },
    ]);
  });

  it('reports every problem at once, naming each host', () => {
    const text = `- name: a\n  address: 10.0.0.1\n- name: a\n  address: 10.0.0.300\n  known-hosts: x\n- name: b\n  address: 10.0.0.1\n  port: 22\n  known-hosts: y\n  colour: red\n  project: Bad!\n`;
    let error: unknown;
    try {
      parseFleetHosts(text, DEFAULTS);
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(FleetHostsError);
    const message = (error as Error).message;
    expect(message).toContain('host 1 (a): known-hosts is required');
    expect(message).toContain('host 2 (a): address "10.0.0.300" is not an IPv4 address');
    expect(message).toContain('host 3 (b): unknown key "colour"');
    expect(message).toContain('host 3 (b): project "Bad!" is not usable');
    expect(() => parseFleetHosts(`- name: a\n  address: h1\n  known-hosts: x\n- name: a\n  address: h2\n  known-hosts: y\n`, DEFAULTS)).toThrow('the name a is used twice');
    expect(() => parseFleetHosts('name: a', DEFAULTS)).toThrow('it must be a YAML list of hosts');
    expect(() => parseFleetHosts('- [a', DEFAULTS)).toThrow('it is not valid YAML');
  });
});

describe('rolling batches', () => {
  it('puts the first host alone, then batch-size hosts at a time, in the listed order', () => {
    const hosts = Array.from({ length: 20 }, (_, i) => `h${i + 1}`);
    const batches = rollingBatches(hosts, 10);
    expect(batches.map((b) => b.length)).toEqual([1, 10, 9]);
    expect(batches.flat()).toEqual(hosts);
    expect(rollingBatches(['a', 'b', 'c'], 1)).toEqual([['a'], ['b'], ['c']]);
    expect(rollingBatches([], 3)).toEqual([]);
    expect(() => rollingBatches(['a'], 0)).toThrow('batch size must be a positive integer');
  });

  it('runs at most the limit at once, results in order', async () => {
    let running = 0;
    let peak = 0;
    const results = await eachLimited([5, 1, 4, 2, 3], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((done) => setTimeout(done, n * 5));
      running -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
