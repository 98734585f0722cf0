/**
 * What a deploy needs to know about the host before it changes anything, read in ONE remote command:
 * where `current` points, the releases (and which are confirmed or bad), leftover partial uploads,
 * how many trusted keys there are, whether the production values file is there and private, the
 * guards that are waiting, the mode the stack was last started with, and an operator's halt mark.
 */
import type { SshConnection } from '@titan/ssh/connection';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { HostLayout } from './host-layout.js';
import { GUARD_SCRIPT_NAME } from './guard-scripts.js';
import { type HaltMark, parseHaltMark } from './halt-mark.js';

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

export const HOST_STATE_SCRIPT_NAME = 'titan-host-state';

// $1 app dir. One line per fact; release ids are the only names printed and the parser checks them.
export const HOST_STATE_SCRIPT = `set -eu
app=$1
cd "$app"
printf 'now %s\\n' "$(date +%s)"
if [ -L current ]; then printf 'current %s\\n' "$(readlink current)"; fi
for dir in releases/*/ releases/.*.partial-*/; do
  [ -d "$dir" ] || continue
  name=\${dir#releases/}
  name=\${name%/}
  mtime=$(stat -c %Y "$dir")
  case $name in
    .*) printf 'partial %s %s\\n' "$name" "$mtime" ;;
    *)
      bad=0
      confirmed=0
      if [ -e "state/$name.bad" ]; then bad=1; fi
      if [ -e "state/$name.confirmed" ]; then confirmed=1; fi
      printf 'release %s %s %s %s\\n' "$name" "$mtime" "$bad" "$confirmed"
      ;;
  esac
done
keys=0
for key in trust/*.pem trust/*.pub; do
  if [ -f "$key" ]; then keys=$((keys + 1)); fi
done
printf 'trust %s\\n' "$keys"
if [ -f shared/.env.prod ]; then
  printf 'env %s %s\\n' "$(stat -c %a shared/.env.prod)" "$(stat -c %U shared/.env.prod)"
fi
for record in state/guard-*.json; do
  [ -f "$record" ] || continue
  pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' "$record")
  alive=0
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\\0' ' ' < "/proc/$pid/cmdline" | grep -q ${GUARD_SCRIPT_NAME}; then alive=1; fi
  printf 'guard %s %s\\n' "$alive" "$(head -n 1 "$record")"
done
if [ -f state/mode ]; then printf 'mode %s\\n' "$(head -n 1 state/mode)"; fi
if [ -f state/halted ]; then printf 'halted %s\\n' "$(head -n 1 state/halted)"; fi
`;

export class HostStateError extends Error {
  override readonly name = 'HostStateError';
}

export async function readHostState(connection: SshConnection, layout: HostLayout): Promise<HostState> {
  let stdout: string;
  try {
    stdout = (await connection.runScript(HOST_STATE_SCRIPT, [layout.appDir], { name: HOST_STATE_SCRIPT_NAME, timeoutMs: 30_000 })).stdout;
  } catch (error: unknown) {
    throw new HostStateError(
      `Cannot read the application folder ${layout.appDir} on ${connection.host}: ${error instanceof Error ? error.message : String(error)}\n` +
        `The host must be provisioned first (action-provision lays out ${layout.appDir} with releases/, shared/.env.prod and trust/).`,
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
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const kind = line.slice(0, space);
    const rest = line.slice(space + 1);
    const words = rest.split(' ');
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
        const guard = parseGuardRecord(rest.slice(2), words[0] === '1');
        if (guard !== undefined) guards.push(guard);
        break;
      }
      case 'mode':
        mode = rest.trim();
        break;
      case 'halted':
        halted = parseHaltMark(rest);
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
