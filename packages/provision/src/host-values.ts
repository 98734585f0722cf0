/**
 * The production values a host keeps: shared/.env.prod (0600, the deploy user's) and the secret
 * files of the stack's secrets overlay (shared/secrets/<file>, 0600), each the value of one
 * variable of the values. They are checked first with the gatekeeper's own production-values check
 * (every required variable real, no placeholder, no development default, long generated secrets,
 * NATS users with passwords of their own): values the gatekeeper would refuse are never written.
 * Findings name variables and lines, never values.
 */
import { parseDotenv } from '@titan/gatekeeper/dotenv';
import type { Finding } from '@titan/gatekeeper/finding';
import { checkProductionValues } from '@titan/gatekeeper/production-values';

export const VALUES_ORIGIN = 'input:values';

export interface SecretFileSpec {
  /** File name under shared/secrets/. */
  readonly file: string;
  /** The variable of the values it holds. */
  readonly variable: string;
}

export interface HostValues {
  /** shared/.env.prod exactly as written. */
  readonly envText: string;
  readonly secretFiles: readonly { readonly file: string; readonly content: string }[];
}

export class ProductionValuesRefusedError extends Error {
  override readonly name = 'ProductionValuesRefusedError';
  readonly findings: readonly Finding[];
  constructor(findings: readonly Finding[]) {
    super(
      `The production values fail the gatekeeper's checks, so nothing was provisioned:\n${findings
        .map((f) => `  - ${f.file ?? VALUES_ORIGIN}${f.line === null ? '' : `:${f.line}`}: ${f.message}. ${f.fix}`)
        .join('\n')}`,
    );
    this.findings = findings;
  }
}

export const SECRET_FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Checks the values as the gatekeeper does (the required variables plus every variable a secret
 * file takes) and returns what the host will hold. Warnings do not stop; errors do.
 */
export function prepareHostValues(
  text: string,
  names: { readonly required: readonly string[]; readonly distinct: readonly string[] },
  secretFiles: readonly SecretFileSpec[],
): { values: HostValues; warnings: Finding[] } {
  const parsed = parseDotenv(text, VALUES_ORIGIN);
  const wanted = [...new Set([...names.required, ...secretFiles.map((s) => s.variable)])];
  const findings = checkProductionValues({ sources: [{ origin: VALUES_ORIGIN, parsed }], required: wanted, distinct: names.distinct });
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) throw new ProductionValuesRefusedError(errors);
  const byName = new Map(parsed.entries.map((e) => [e.name, e.value]));
  const files = secretFiles.map((s) => {
    const value = byName.get(s.variable);
    if (value === undefined) throw new ProductionValuesRefusedError([{ check: 'production-values', severity: 'error', file: VALUES_ORIGIN, line: null, message: `${s.variable} is not set, but the secret file ${s.file} holds it`, fix: `Add ${s.variable}=... to the values secret` }]);
    return { file: s.file, content: value };
  });
  return { values: { envText: text.endsWith('\n') ? text : `${text}\n`, secretFiles: files }, warnings: findings.filter((f) => f.severity === 'warning') };
}
