import type { EnvEntry, ParsedDotenv } from './dotenv.js';
import type { Finding } from './finding.js';
import type { Place } from './located-yaml.js';
import { carriageProblem } from './value-carriage.js';
import { shapeProblem, valueKind, type ValueKind } from './value-shape.js';
import { isDevelopmentDefault, isPlaceholder, isTemplatePlaceholder } from './weak-values.js';

/**
 * The production values check: every required variable set, not empty, not a placeholder, not a
 * development default, shaped like a real value (long generated secrets, a deliverable email, a
 * public hostname), every value one the stack can carry as written (value-carriage.ts), and every
 * distinct value (services.yml's values.distinct: each NATS user's password) one of its own.
 * Findings name variables, never values.
 *
 * The posture says which gate this is. `production` (the default) refuses a development default or
 * a value too weak for its kind. `staging` lets those through as warnings that say the production
 * gate refuses them (a staging stack runs on its staging defaults: dummy exchange keys, known
 * secrets); a missing, empty or placeholder value, or one the stack cannot carry, still blocks.
 */
export type Posture = 'production' | 'staging';
export const POSTURES: readonly Posture[] = ['production', 'staging'];

export interface ValuesSource {
  /** As named in findings: a display path of the env file, or `input:values`. */
  origin: string;
  parsed: ParsedDotenv;
  /** The file's permission bits, for an env file: one that others can read is a warning. */
  mode?: number | undefined;
}

export interface ProductionValuesInput {
  /** In order of precedence, lowest first (env-file, then the values input). */
  sources: readonly ValuesSource[];
  required: readonly string[];
  /** Required variables whose values must each differ from every other required one (services.yml's values.distinct). */
  distinct?: readonly string[];
  /** Variables the Compose files reference with `${VAR:?}`, with the place of the first reference. */
  composeRequired?: ReadonlyMap<string, Place>;
  /** Fallbacks the Compose files give for a variable (`${VAR:-x}`): a production value equal to one is a dev default. */
  composeDefaults?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Default production. */
  posture?: Posture;
}

const CHECK = 'production-values';

export function checkProductionValues(input: ProductionValuesInput): Finding[] {
  const findings: Finding[] = [];
  const merged = new Map<string, EnvEntry>();
  for (const source of input.sources) {
    if (source.mode !== undefined && (source.mode & 0o004) !== 0) {
      findings.push({
        check: CHECK,
        severity: 'warning',
        file: source.origin,
        line: null,
        message: `The production env file is readable by every user (mode ${(source.mode & 0o777).toString(8).padStart(4, '0')})`,
        fix: `chmod 600 it, and keep production values out of the repository: pass them as a secret through the values input`,
      });
    }
    for (const problem of source.parsed.problems) {
      findings.push(error(source.origin, problem.line, `Line ${problem.line} ${problem.reason}`, 'Write each variable as KEY=value (quotes allowed, `export ` prefix and # comments allowed)'));
    }
    const seen = new Map<string, number>();
    for (const entry of source.parsed.entries) {
      const first = seen.get(entry.name);
      if (first !== undefined) {
        findings.push({
          check: CHECK,
          severity: 'warning',
          file: source.origin,
          line: entry.line,
          message: `${entry.name} is set twice (lines ${first} and ${entry.line}); the last one wins`,
          fix: `Keep one ${entry.name} line`,
        });
      } else {
        seen.set(entry.name, entry.line);
      }
      merged.set(entry.name, entry);
    }
  }
  const addTo = describeOrigins(input.sources);
  const missingFile = input.sources.at(-1)?.origin ?? null;
  const flagged = new Set<string>();
  const required = new Set(input.required);

  for (const name of input.required) {
    const entry = merged.get(name);
    const problem = entry === undefined ? undefined : valueProblem(entry, input.composeDefaults?.get(name));
    if (entry === undefined) {
      findings.push(error(missingFile, null, `${name} is not set`, `Add ${name}=... to ${addTo}`));
      flagged.add(name);
    } else if (problem !== undefined && problem.weak && input.posture === 'staging') {
      findings.push({
        check: CHECK,
        severity: 'warning',
        file: entry.origin,
        line: entry.line,
        message: `${name} ${problem.what}: allowed in the staging posture, the production gate refuses it`,
        fix: problem.fix,
      });
      flagged.add(name);
    } else if (problem !== undefined) {
      findings.push(error(entry.origin, entry.line, `${name} ${problem.what}`, problem.fix));
      flagged.add(name);
    }
  }

  for (const [name, place] of input.composeRequired ?? []) {
    if (required.has(name)) continue;
    const entry = merged.get(name);
    if (entry === undefined || entry.value === '') {
      findings.push(
        error(
          entry?.origin ?? missingFile,
          entry?.line ?? null,
          `${name} is ${entry === undefined ? 'not set' : 'empty'}, but ${place.file}:${place.line} requires it (\${${name}:?...}), so Compose would refuse to start`,
          `Add ${name}=... to ${addTo}`,
        ),
      );
      flagged.add(name);
    }
  }

  for (const entry of merged.values()) {
    if (flagged.has(entry.name) || required.has(entry.name)) continue;
    if (isTemplatePlaceholder(entry.value)) {
      findings.push(error(entry.origin, entry.line, `${entry.name} is still a template placeholder`, `Replace it with the production value of ${entry.name}`));
      flagged.add(entry.name);
    }
  }

  for (const entry of merged.values()) {
    if (flagged.has(entry.name)) continue;
    const problem = carriageProblem(entry.name, entry.value);
    if (problem === undefined) continue;
    findings.push(error(entry.origin, entry.line, `${entry.name} ${problem.what}`, problem.fix));
    flagged.add(entry.name);
  }

  findings.push(...sharedValues(merged, input.required, input.distinct ?? [], flagged));
  return findings;
}

interface ValueProblem {
  what: string;
  fix: string;
  /** A development default or a weak shape (not a missing value): what the staging posture allows. */
  weak: boolean;
}

function valueProblem(entry: EnvEntry, composeDefaults: ReadonlySet<string> | undefined): ValueProblem | undefined {
  const kind = valueKind(entry.name);
  const value = entry.value;
  if (value.trim() === '') return { what: 'is empty', fix: freshValueFix(entry.name, kind), weak: false };
  if (isPlaceholder(value)) return { what: 'is still a placeholder', fix: freshValueFix(entry.name, kind), weak: false };
  if (isDevelopmentDefault(value, { extraDefaults: kind === 'secret' ? composeDefaults : undefined, markers: kind === 'secret' })) {
    return { what: 'is a known development default', fix: freshValueFix(entry.name, kind), weak: true };
  }
  const shape = shapeProblem(kind, value);
  if (shape !== undefined) return { what: shape, fix: freshValueFix(entry.name, kind), weak: true };
  return undefined;
}

function freshValueFix(name: string, kind: ValueKind): string {
  switch (kind) {
    case 'secret':
      return /API_KEY|API_SECRET/.test(name)
        ? `Set ${name} to the exchange's production credential (a trade-only key)`
        : `Set ${name} to a generated secret, e.g. \`openssl rand -hex 24\``;
    case 'email':
      return `Set ${name} to the operators' real mailbox (Let's Encrypt sends expiry notices there)`;
    case 'hostname':
      return `Set ${name} to the public hostname the console is served on (a DNS name you own)`;
    case 'setting':
      return `Set ${name} to its production value`;
  }
}

/**
 * Each distinct value (a password of one NATS service user, say) differs from every other required
 * one: a shared one lets one compromised service act as another. Values already flagged are skipped.
 */
function sharedValues(merged: ReadonlyMap<string, EnvEntry>, required: readonly string[], distinct: readonly string[], flagged: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  const usable = (name: string) => {
    const entry = merged.get(name);
    return entry !== undefined && !flagged.has(name) && entry.value !== '' ? entry : undefined;
  };
  const nats = distinct.filter((name) => usable(name) !== undefined);
  const others = required.filter((name) => !distinct.includes(name) && usable(name) !== undefined);
  nats.forEach((name, index) => {
    const entry = usable(name);
    if (entry === undefined) return;
    const twin = [...nats.slice(0, index), ...others].find((other) => usable(other)?.value === entry.value);
    if (twin === undefined) return;
    findings.push(
      error(
        entry.origin,
        entry.line,
        `${name} equals ${twin}`,
        `Give ${name} a value of its own (services.yml lists it under values.distinct): generate a new one, e.g. \`openssl rand -hex 24\`, and restart the services that use it`,
      ),
    );
  });
  return findings;
}

function describeOrigins(sources: readonly ValuesSource[]): string {
  if (sources.length === 0) return 'the production values (env-file or values)';
  return sources.map((s) => (s.origin === 'input:values' ? 'the values secret' : s.origin)).join(' or ');
}

function error(file: string | null, line: number | null, message: string, fix: string): Finding {
  return { check: CHECK, severity: 'error', file, line, message, fix };
}
