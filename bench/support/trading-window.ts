/**
 * The trading window of a change, from the Docker engine's own events: from the first container of a
 * Titan service (a service in a group of the stack profile) stopped (kill, stop or die) to the moment
 * every container started after it reports healthy again (`health_status: healthy`). Read after the
 * fact with `docker events --since --until` for one compose project, so the measurement does not
 * depend on how (or how often) the deploy polls.
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { execFileSync } from 'node:child_process';

export interface ContainerEvent {
  /** Nanoseconds since the epoch. */
  readonly timeNs: bigint;
  readonly action: string;
  readonly id: string;
  readonly service: string;
}

/** Now, as `docker events` reads a time: seconds since the epoch with a fraction. */
export function eventClock(): string {
  return (Date.now() / 1000).toFixed(3);
}

export function containerEvents(project: string, since: string, until: string): ContainerEvent[] {
  const out = execFileSync(
    'docker',
    ['events', '--since', since, '--until', until, '--filter', 'type=container', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{json .}}'],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const event = JSON.parse(line) as { timeNano: number | string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
      return { timeNs: BigInt(event.timeNano), action: event.Action, id: event.Actor.ID, service: event.Actor.Attributes['com.docker.compose.service'] ?? '' };
    })
    .sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
}

export interface TradingWindow {
  readonly seconds: number;
  /** The Titan services stopped and started again in the window. */
  readonly services: readonly string[];
}

export function tradingWindow(events: readonly ContainerEvent[], titanServices: ReadonlySet<string>): TradingWindow {
  const first = events.find((e) => titanServices.has(e.service) && (e.action === 'kill' || e.action === 'stop' || e.action === 'die'));
  if (first === undefined) throw new Error(`no Titan service was stopped (events: ${events.map((e) => `${e.service} ${e.action}`).join(', ')})`);
  const after = events.filter((e) => e.timeNs >= first.timeNs);
  const started = [...new Set(after.filter((e) => e.action === 'start').map((e) => e.id))];
  if (started.length === 0) throw new Error('no container was started again after the first stop');
  let end = first.timeNs;
  const services: string[] = [];
  for (const id of started) {
    const start = after.find((e) => e.id === id && e.action === 'start');
    const healthy = after.find((e) => e.id === id && e.action === 'health_status: healthy' && start !== undefined && e.timeNs >= start.timeNs);
    if (healthy === undefined) throw new Error(`${start?.service ?? id} was started again but never reported healthy in the window`);
    if (healthy.timeNs > end) end = healthy.timeNs;
    services.push(healthy.service);
  }
  return { seconds: Number(end - first.timeNs) / 1e9, services: [...new Set(services)].sort() };
}
