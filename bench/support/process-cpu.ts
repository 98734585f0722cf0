/**
 * Where the CPU of a benchmarked step went, on the whole machine: every process's CPU seconds
 * (user + system, /proc/PID/stat) sampled every 100 ms while the step runs, the difference from
 * before it grouped by command name (a process that ends between two samples loses at most its
 * last 100 ms), plus how busy the machine was in all (/proc/stat). The benchmarks print it beside
 * their times, so that a ratio can be read against what shared the cores.
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100;

interface Sample {
  readonly comm: string;
  readonly ticks: number;
  /** What a Postgres server process is (its process title): `checkpointer`, `autovacuum worker DB`, `parallel worker`, `backend DB`. */
  readonly role: string | undefined;
}

/** `postgres: checkpointer`, `postgres: autovacuum worker bench`, `postgres: titan bench [local] COPY` -> the role, its state left out. */
function postgresRole(pid: string): string | undefined {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    const m = /^postgres: (.*)$/.exec(title);
    if (m === null) return 'postmaster';
    const what = m[1] ?? '';
    if (/^(checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|startup|archiver)/.test(what)) return what.replace(/\s+$/, '');
    if (what.startsWith('parallel worker')) return 'parallel worker';
    const worker = /^autovacuum worker (\S+)/.exec(what);
    if (worker !== null) return `autovacuum worker ${worker[1] ?? ''}`;
    const backend = /^(\S+) (\S+) /.exec(what);
    return backend === null ? what : `backend ${backend[2] ?? ''}`;
  } catch {
    return undefined;
  }
}

/** pid:starttime -> command and CPU ticks so far, of every process now. */
function processes(): Map<string, Sample> {
  const all = new Map<string, Sample>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      all.set(`${pid}:${fields[19] ?? ''}`, { comm, ticks: Number(fields[11]) + Number(fields[12]), role: comm === 'postgres' ? postgresRole(pid) : undefined });
    } catch {
      // it ended
    }
  }
  return all;
}

/** [busy, total] ticks of all cores so far. */
function machine(): [number, number] {
  const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return [total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total];
}

export interface CpuUse {
  /** CPU seconds per command name, largest first. */
  readonly byCommand: readonly (readonly [string, number])[];
  /** CPU seconds of the Postgres server's processes by role (backend DB, autovacuum worker DB, checkpointer...), largest first. */
  readonly postgresRoles: readonly (readonly [string, number])[];
  /** CPU seconds of the processes whose pid `pidLabel` names, under that label. */
  readonly byPid: ReadonlyMap<string, number>;
  /** CPU seconds the whole machine was busy, and the seconds of all its cores. */
  readonly busySeconds: number;
  readonly coreSeconds: number;
  readonly loadAverage: string;
}

/** Runs `step`, sampling; `pidLabel` names processes (our bundle, the Spaces peer) by pid as the step sees them. */
export async function cpuDuring(step: () => Promise<void>, pidLabel: () => ReadonlyMap<number, string> = () => new Map()): Promise<CpuUse> {
  const before = processes();
  const last = new Map(before);
  const labels = new Map<string, string>();
  const roles = new Map<string, string>();
  const sample = (): void => {
    for (const [key, value] of processes()) {
      last.set(key, value);
      // A backend's title names its database from the start; a worker's, the database it works on.
      if (value.role !== undefined && !roles.has(key)) roles.set(key, value.role);
    }
    for (const [pid, label] of pidLabel()) for (const key of last.keys()) if (key.startsWith(`${pid}:`)) labels.set(key, label);
  };
  const [busy0, total0] = machine();
  const timer = setInterval(sample, 100);
  try {
    await step();
  } finally {
    clearInterval(timer);
  }
  sample();
  const [busy1, total1] = machine();
  const byCommand = new Map<string, number>();
  const byPid = new Map<string, number>();
  const byRole = new Map<string, number>();
  for (const [key, now] of last) {
    const used = (now.ticks - (before.get(key)?.ticks ?? 0)) / TICKS;
    if (used <= 0) continue;
    const label = labels.get(key);
    if (label !== undefined) byPid.set(label, (byPid.get(label) ?? 0) + used);
    else byCommand.set(now.comm, (byCommand.get(now.comm) ?? 0) + used);
    const role = roles.get(key) ?? now.role;
    if (label === undefined && now.comm === 'postgres' && role !== undefined) byRole.set(role, (byRole.get(role) ?? 0) + used);
  }
  return {
    byCommand: [...byCommand].sort((a, b) => b[1] - a[1]),
    postgresRoles: [...byRole].sort((a, b) => b[1] - a[1]),
    byPid,
    busySeconds: (busy1 - busy0) / TICKS,
    coreSeconds: (total1 - total0) / TICKS,
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

/** `label 1.2 s, …; postgres 9.1 s, pg_restore 4.0 s, … (machine busy 20.1 of 24.0 core-s, load …)`, commands among `commands` only. */
export function formatCpu(use: CpuUse, commands: readonly string[]): string {
  const labelled = [...use.byPid].map(([label, s]) => `${label} ${s.toFixed(1)} s`);
  const roles = use.postgresRoles.filter(([, s]) => s >= 0.05).map(([role, s]) => `${role} ${s.toFixed(1)}`).join(', ');
  const chosen = use.byCommand.filter(([comm]) => commands.includes(comm)).map(([comm, s]) => `${comm} ${s.toFixed(1)} s${comm === 'postgres' && roles !== '' ? ` (${roles})` : ''}`);
  const others = use.byCommand.filter(([comm]) => !commands.includes(comm)).reduce((sum, [, s]) => sum + s, 0);
  return `${[...labelled, ...chosen].join(', ')}; everything else ${others.toFixed(1)} s (machine busy ${use.busySeconds.toFixed(1)} of ${use.coreSeconds.toFixed(1)} core-s, load average ${use.loadAverage})`;
}
