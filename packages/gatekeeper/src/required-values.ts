/**
 * The production values a Titan deploy needs: by default the secrets of the sample release's
 * production.env.template. The `required` input replaces the set (`NAME` lines), adds to it
 * (`+NAME`) or removes from it (`-NAME`).
 */
export const NATS_SERVICE_PASSWORDS = [
  'NATS_SYS_PASSWORD',
  'NATS_BRAIN_PASSWORD',
  'NATS_EXECUTION_PASSWORD',
  'NATS_SCAVENGER_PASSWORD',
  'NATS_HUNTER_PASSWORD',
  'NATS_SENTINEL_PASSWORD',
  'NATS_POWERLAW_PASSWORD',
  'NATS_QUANT_PASSWORD',
  'NATS_CONSOLE_PASSWORD',
  'NATS_BACKUP_PASSWORD',
] as const;

export const DEFAULT_REQUIRED_VALUES: readonly string[] = [
  'TITAN_MASTER_PASSWORD',
  'HMAC_SECRET',
  'SAFETY_SECRET',
  'JWT_SECRET',
  'BINANCE_API_KEY',
  'BINANCE_API_SECRET',
  'BYBIT_API_KEY',
  'BYBIT_API_SECRET',
  ...NATS_SERVICE_PASSWORDS,
  'TITAN_DB_PASSWORD',
  'POSTGRES_PASSWORD',
  'REDIS_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
  'ACME_EMAIL',
  'DOMAIN',
];

export class RequiredValuesError extends Error {
  override readonly name = 'RequiredValuesError';
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The required set from `required` lines: plain names replace the default set, `+NAME` adds,
 * `-NAME` removes. No lines: the default set.
 */
export function resolveRequiredValues(lines: readonly string[], defaults: readonly string[] = DEFAULT_REQUIRED_VALUES): string[] {
  const plain: string[] = [];
  const added: string[] = [];
  const removed = new Set<string>();
  for (const line of lines) {
    const sign = line[0] === '+' || line[0] === '-' ? line[0] : '';
    const name = line.slice(sign.length).trim();
    if (!VARIABLE_NAME.test(name)) {
      throw new RequiredValuesError(`"${line}" is not a variable name (letters, digits and _; +NAME adds to the default set, -NAME removes from it)`);
    }
    if (sign === '+') added.push(name);
    else if (sign === '-') removed.add(name);
    else plain.push(name);
  }
  const base = plain.length > 0 ? plain : defaults;
  return [...new Set([...base, ...added])].filter((name) => !removed.has(name));
}
