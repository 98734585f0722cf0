/**
 * A host folder on this machine for the fast tests of the host scripts: an application folder laid
 * out as HostLayout says, a `bin/` put first on PATH for stub programs (`docker`, ...), and
 * runHostScript's local twin, which runs a script's shipped text with `sh -c` and the environment
 * it gets on a host (hostScriptEnvironment).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostLayout } from '@titan/host/host-layout';
import { hostScript, hostScriptEnvironment } from '@titan/host/host-script';
import type { HostScriptName } from '@titan/host/host-scripts';

export interface LocalHost {
  readonly root: string;
  readonly layout: HostLayout;
  readonly bin: string;
  /** The environment scripts run with here: the host's, with bin/ first on PATH. */
  readonly env: NodeJS.ProcessEnv;
  /** Writes bin/NAME, an executable sh script with `body`. */
  stub(name: string, body: string): void;
  /** Lines bin/docker (from stubDocker) was called with, one argv a line. */
  calls(name?: string): string[];
  run(name: HostScriptName, args?: readonly string[], options?: { stdin?: string; env?: NodeJS.ProcessEnv }): SpawnSyncReturns<string>;
  read(path: string): string;
  remove(): void;
}

export function localHost(prefix = 'titan-host-'): LocalHost {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const appDir = join(root, 'app');
  const layout = new HostLayout(appDir);
  for (const dir of [layout.releasesDir, layout.stateDir, layout.sharedDir, layout.trustDir]) mkdirSync(dir, { recursive: true });
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const env = { ...process.env, ...hostScriptEnvironment(layout), PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
  const callLog = join(root, 'calls');
  return {
    root,
    layout,
    bin,
    env,
    stub(name, body) {
      writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> '${callLog}'\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    },
    calls(name) {
      let text: string;
      try {
        text = readFileSync(callLog, 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').filter((l) => l !== '' && (name === undefined || l.startsWith(`${name} `) || l === name));
    },
    run(name, args = [], options = {}) {
      return spawnSync('sh', ['-c', hostScript(name), name, ...args], {
        encoding: 'utf8',
        env: { ...env, ...options.env },
        input: options.stdin ?? '',
        timeout: 60_000,
      });
    },
    read(path) {
      return readFileSync(path, 'utf8');
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
