import { interpolate } from './compose-interpolation.js';
import type { MergedCompose, MergedService } from './compose-merge.js';
import { addressScope, parsePortEntry, type PublishedPort } from './compose-ports.js';
import type { Finding, Severity } from './finding.js';
import { entryOf, scalarText, type LocatedNode, type Place } from './located-yaml.js';
import { isDigestPinned, serviceRole, type ServiceRole } from './service-role.js';

/**
 * The production policy on the merged Compose model, each finding at the file and line where the
 * offending value was set (or, for something missing, where the service is defined last: the
 * production overlay when it names the service):
 * - every service has a healthcheck (not disabled, with a test) and a restart policy that restarts;
 * - json-file logging with max-size and max-file;
 * - postgres, redis, prometheus, grafana publish no host port; nats only on loopback or a private
 *   (VPC) address; other services on loopback only (a warning); traefik is the edge;
 * - no `build:`; every image pinned by digest or built by the release (services.yml).
 */
export interface ComposePolicyInput {
  merged: MergedCompose;
  /** Services whose image the release builds (services.yml), with where each is listed. */
  builtServices: ReadonlyMap<string, Place>;
  /** Known production values, used to resolve `${VAR}` in images and ports. */
  values?: ReadonlyMap<string, string>;
}

const CHECK = 'compose';
const RESTARTING = /^(always|unless-stopped|on-failure(:\d+)?)$/;
const SIZE = /^\d+(\.\d+)?[kmg]?b?$/i;

export function checkComposePolicy(input: ComposePolicyInput): Finding[] {
  const values = input.values ?? new Map<string, string>();
  const findings: Finding[] = [];
  for (const service of input.merged.services.values()) {
    const image = imageOf(service, values);
    const role = serviceRole(service.name, image?.text);
    findings.push(
      ...healthcheckFindings(service),
      ...restartFindings(service),
      ...loggingFindings(service),
      ...portFindings(service, role, values),
      ...imageFindings(service, image, input.builtServices),
    );
  }
  for (const [name, place] of input.builtServices) {
    if (!input.merged.services.has(name)) {
      findings.push(
        finding('warning', place, `services.yml builds an image for ${name}, but no Compose file defines a service ${name}`, `Rename the entry to its Compose service name, or remove it from services.yml`),
      );
    }
  }
  return findings;
}

function healthcheckFindings(service: MergedService): Finding[] {
  const healthcheck = entryOf(service.config, 'healthcheck');
  if (healthcheck === undefined || (healthcheck.value.kind === 'scalar' && healthcheck.value.value === null)) {
    return [
      finding('error', lastDefinition(service), `${service.name} has no healthcheck`, `Add a healthcheck (test, interval, timeout, retries) to ${service.name}: the deploy waits for healthy, and Compose restarts nothing it cannot see failing`),
    ];
  }
  const disable = entryOf(healthcheck.value, 'disable');
  if (disable !== undefined && scalarText(disable.value) === 'true') {
    return [finding('error', disable.keyPlace, `${service.name} has its healthcheck disabled`, `Remove disable: true and give ${service.name} a healthcheck test`)];
  }
  const test = entryOf(healthcheck.value, 'test');
  if (test === undefined) {
    return [finding('error', healthcheck.keyPlace, `${service.name}'s healthcheck has no test`, `Add a test to ${service.name}'s healthcheck, e.g. ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:PORT/health"]`)];
  }
  const first = test.value.kind === 'seq' ? scalarText(test.value.items[0]) : scalarText(test.value);
  if (first === 'NONE') {
    return [finding('error', test.value, `${service.name}'s healthcheck test is NONE, which disables it`, `Give ${service.name} a real healthcheck test`)];
  }
  return [];
}

function restartFindings(service: MergedService): Finding[] {
  const restart = entryOf(service.config, 'restart');
  const value = scalarText(restart?.value);
  if (restart === undefined || value === undefined) {
    return [finding('error', lastDefinition(service), `${service.name} has no restart policy`, `Add restart: unless-stopped to ${service.name}`)];
  }
  if (!RESTARTING.test(value)) {
    return [finding('error', restart.value, `${service.name} has restart: ${value}, so it stays down after a crash or a reboot`, `Set restart: unless-stopped (or always, on-failure) on ${service.name}`)];
  }
  return [];
}

function loggingFindings(service: MergedService): Finding[] {
  const logging = entryOf(service.config, 'logging');
  if (logging === undefined || logging.value.kind !== 'map') {
    return [
      finding('error', logging?.keyPlace ?? lastDefinition(service), `${service.name} has no log rotation`, `Add logging: { driver: json-file, options: { max-size: "10m", max-file: "3" } } to ${service.name}: unrotated logs fill the Droplet's disk`),
    ];
  }
  const findings: Finding[] = [];
  const driver = entryOf(logging.value, 'driver');
  const driverName = scalarText(driver?.value);
  if (driver !== undefined && driverName !== 'json-file') {
    findings.push(finding('error', driver.value, `${service.name} logs with the ${driverName ?? 'unset'} driver; production logs go to json-file with rotation`, `Set logging.driver: json-file on ${service.name}`));
  }
  const options = entryOf(logging.value, 'options');
  const anchor = options?.keyPlace ?? logging.keyPlace;
  for (const option of ['max-size', 'max-file'] as const) {
    const entry = entryOf(options?.value, option);
    const text = scalarText(entry?.value);
    if (entry === undefined || text === undefined) {
      findings.push(finding('error', anchor, `${service.name} has no log rotation: logging.options.${option} is not set`, `Add ${option}: ${option === 'max-size' ? '"10m"' : '"3"'} under ${service.name}'s logging.options`));
    } else if (option === 'max-size' ? !SIZE.test(text) : !/^[1-9]\d*$/.test(text)) {
      findings.push(finding('error', entry.value, `${service.name}'s logging.options.${option} "${text}" is not valid`, option === 'max-size' ? 'Use a size such as "10m"' : 'Use a whole number of files such as "3"'));
    }
  }
  return findings;
}

function portFindings(service: MergedService, role: ServiceRole, values: ReadonlyMap<string, string>): Finding[] {
  const ports = entryOf(service.config, 'ports');
  if (ports === undefined || role === 'edge') return [];
  const items = ports.value.kind === 'seq' ? ports.value.items : [];
  return items.flatMap((item) => portFinding(service.name, role, parsePortEntry(item, values)));
}

function portFinding(name: string, role: ServiceRole, port: PublishedPort): Finding[] {
  const shown = `port ${port.published ?? '(ephemeral)'}->${port.target}/${port.protocol}`;
  const scope = addressScope(port.hostIp);
  const where = scope === 'all' ? 'every interface' : (port.hostIp ?? '');
  if (role === 'internal') {
    return [finding('error', port, `${name} publishes ${shown} on the host (${where})`, `Remove the ports entry: ${name} must be reachable on the Compose network only (use docker compose exec or an SSH tunnel to reach it)`)];
  }
  if (port.unresolved.length > 0 && port.hostIp?.includes('$')) {
    return [finding(role === 'nats' ? 'error' : 'warning', port, `${name} publishes ${shown} on an address that depends on ${port.unresolved.join(', ')}, which has no known value`, `Set ${port.unresolved.join(', ')} in the production values, or write the address in the file`)];
  }
  const bind = `"127.0.0.1:${port.published ?? port.target}:${port.target}"`;
  if (role === 'nats' && scope !== 'loopback' && scope !== 'private') {
    return [finding('error', port, `${name} publishes ${shown} on ${where}${scope === 'public' ? ', a public address' : ''}: NATS must not face the internet`, `Bind it to 127.0.0.1 or the Droplet's VPC address, e.g. ${bind}`)];
  }
  if (role === 'service' && scope !== 'loopback') {
    return [finding('warning', port, `${name} publishes ${shown} on ${where}; only traefik should face the network`, `Bind it to 127.0.0.1, e.g. ${bind}, and route public traffic through traefik`)];
  }
  return [];
}

interface ResolvedImage {
  text: string;
  node: LocatedNode;
}

function imageOf(service: MergedService, values: ReadonlyMap<string, string>): ResolvedImage | undefined {
  const node = entryOf(service.config, 'image')?.value;
  const raw = scalarText(node);
  if (node === undefined || raw === undefined) return undefined;
  return { text: interpolate(raw, values).text, node };
}

function imageFindings(service: MergedService, image: ResolvedImage | undefined, built: ReadonlyMap<string, Place>): Finding[] {
  const findings: Finding[] = [];
  const build = entryOf(service.config, 'build');
  if (build !== undefined) {
    findings.push(finding('error', build.keyPlace, `${service.name} has build: in the production Compose files, so the host would build an unsigned image`, `Remove build: from ${service.name} (use !reset null in the production overlay if the base file needs it); the release builds images in CI and pins them by digest`));
  }
  if (image === undefined) {
    if (build === undefined) {
      findings.push(finding('error', lastDefinition(service), `${service.name} has no image`, `Give ${service.name} an image the release builds (listed in services.yml) or one pinned by digest (image@sha256:...)`));
    }
    return findings;
  }
  if (!isDigestPinned(image.text) && !built.has(service.name)) {
    findings.push(
      finding('error', image.node, `${service.name} runs ${image.text}, which is neither pinned by digest nor built by the release`, `Pin it (${image.text.split('@')[0] ?? image.text}@sha256:<digest>) or add ${service.name} to services.yml so the release builds and pins it`),
    );
  }
  return findings;
}

function lastDefinition(service: MergedService): Place {
  return service.definitions.at(-1) ?? { file: service.config.file, line: service.config.line };
}

function finding(severity: Severity, place: Place, message: string, fix: string): Finding {
  return { check: CHECK, severity, file: place.file, line: place.line, message, fix };
}
