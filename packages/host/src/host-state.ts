/**
 * What a deploy needs to know about the host before it changes anything, read in ONE remote command
 * (scripts/host-state.sh):
 * where `current` points, the releases (and which are confirmed or bad), leftover partial uploads,
 * how many trusted keys there are, whether the production values file is there and private, the
 * guards that are waiting, the mode the stack was last started with, and an operator's halt mark.
 */
import type { SshConnection } from '@titan/ssh/connection';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import { type HaltMark, parseHaltMark } from './halt-mark.js';
import type { HostLayout } from './host-layout.js';
import { hostRecords } from './host-record.js';
import { runHostScript } from './host-script.js';

export interface HostRelease {
  readonly id: string;
  /** Modification time of the release folder (touched when it becomes current), epoch seconds. */
  readonly mtime: number;
  readonly bad: boolean;
  readonly confirmed: boolean;
}

export interface GuardRecord {
  readonly release: string;
  /** The release the guard returns to ('' on a first deploy). */
  readonly previous: string;
  readonly pid: number;
  /** Epoch seconds when the guard gives up waiting for the confirmation. */
  readonly deadline: number;
  /** Epoch seconds when it started. */
  readonly startedAt: number;
  readonly alive: boolean;
}

export interface HostState {
  /** The release `current` points at, or undefined (fresh host, or a link that is not `releases/<id>`). */
  readonly current: string | undefined;
  /** The raw link target when `current` exists but does not point at `releases/<id>`. */
  readonly strayCurrent: string | undefined;
  readonly releases: readonly HostRelease[];
  /** Names of `releases/.<id>.partial-*` folders and their mtime. */
  readonly partials: readonly { name: string; mtime: number }[];
  readonly trustedKeys: number;
  readonly envFile: { readonly present: false } | { readonly present: true; readonly mode: number; readonly owner: string };
  readonly guards: readonly GuardRecord[];
  /** TITAN_MODE of the last start, when recorded. */
  readonly mode: string | undefined;
  /** An operator's halt (state/halted), when there is one. */
  readonly halted: HaltMark | undefined;
  /** Host clock, epoch seconds. */
  readonly now: number;
}

export class HostStateError extends Error {
  override readonly name = 'HostStateError';
}

export async function readHostState(connection: SshConnection, layout: HostLayout): Promise<HostState> {
  let stdout: string;
  try {
    stdout = (await runHostScript(connection, layout, 'titan-host-state', [], { timeoutMs: 30_000 })).stdout;
  } catch (error: unknown) {
    throw new HostStateError(
      `Cannot read the application folder ${layout.appDir} on ${connection.host}: ${error instanceof Error ? error.message : String(error)}\n` +
        `The host must be provisioned first (action-provision lays out ${layout.appDir} with ${layout.releasesDir}, ${layout.envFile} and ${layout.trustDir}).`,
      { cause: error },
    );
  }
  return parseHostState(stdout);
}

export function parseHostState(stdout: string): HostState {
  let current: string | undefined;
  let strayCurrent: string | undefined;
  const releases: HostRelease[] = [];
  const partials: { name: string; mtime: number }[] = [];
  let trustedKeys = 0;
  let envFile: HostState['envFile'] = { present: false };
  const guards: GuardRecord[] = [];
  let mode: string | undefined;
  let halted: HaltMark | undefined;
  let now = Math.floor(Date.now() / 1000);
  for (const { kind, values: words } of hostRecords(stdout)) {
    const rest = words.join(' ');
    switch (kind) {
      case 'now':
        now = Number(words[0]);
        break;
      case 'current': {
        const match = /^releases\/([^/]+)$/.exec(rest);
        if (match?.[1] !== undefined && RELEASE_ID_PATTERN.test(match[1])) current = match[1];
        else strayCurrent = rest;
        break;
      }
      case 'release': {
        const [id, mtime, bad, confirmed] = words;
        if (id !== undefined && RELEASE_ID_PATTERN.test(id)) {
          releases.push({ id, mtime: Number(mtime), bad: bad === '1', confirmed: confirmed === '1' });
        }
        break;
      }
      case 'partial':
        if (words[0] !== undefined) partials.push({ name: words[0], mtime: Number(words[1]) });
        break;
      case 'trust':
        trustedKeys = Number(words[0]);
        break;
      case 'env':
        envFile = { present: true, mode: Number.parseInt(words[0] ?? '0', 8), owner: words[1] ?? '' };
        break;
      case 'guard': {
        const guard = parseGuardRecord(words[1] ?? '', words[0] === '1');
        if (guard !== undefined) guards.push(guard);
        break;
      }
      case 'mode':
        mode = rest.trim();
        break;
      case 'halted':
        halted = parseHaltMark(words[0] ?? '');
        break;
      default:
        break;
    }
  }
  return { current, strayCurrent, releases, partials, trustedKeys, envFile, guards, mode, halted, now };
}

function parseGuardRecord(json: string, alive: boolean): GuardRecord | undefined {
  try {
    const value = JSON.parse(json) as Record<string, unknown>;
    const release = value['release'];
    const previous = value['previous'];
    if (typeof release !== 'string' || !RELEASE_ID_PATTERN.test(release)) return undefined;
    return {
      release,
      previous: typeof previous === 'string' ? previous : '',
      pid: Number(value['pid']),
      deadline: Number(value['deadline']),
      startedAt: Number(value['startedAt']),
      alive,
    };
  } catch {
    return undefined;
  }
}
