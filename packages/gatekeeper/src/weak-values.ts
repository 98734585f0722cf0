/**
 * Values that must never reach production: placeholders left from a template, and the development
 * defaults of the Titan stack and of the software it runs. Matching is case-insensitive.
 */
const PLACEHOLDER_WORDS = [
  'changeme',
  'change_me',
  'change-me',
  'replaceme',
  'replace_me',
  'replace-me',
  'fillme',
  'fill_me',
  'setme',
  'set_me',
  'your_',
  'your-',
  'insert_',
  'enter_',
];

const PLACEHOLDER_VALUES = new Set(['todo', 'tbd', 'fixme', 'placeholder', 'none', 'null', 'undefined', 'nil', 'empty', 'value', 'example', 'sample', 'redacted']);

/** Domains reserved for documentation and testing (RFC 2606, RFC 6761): never a real contact or site. */
const RESERVED_DOMAINS = ['example.com', 'example.org', 'example.net', 'example', 'test', 'invalid', 'localhost', 'local', 'localdomain'];

/** Known development and stock defaults, compared case-insensitively. */
export const DEVELOPMENT_DEFAULTS: readonly string[] = [
  'supersecretkey_staging_only',
  'safety_dance_staging_only',
  'dummy_key_staging',
  'dummy_secret_staging',
  'admin',
  'administrator',
  'password',
  'passw0rd',
  'p@ssw0rd',
  'password1',
  'password123',
  'secret',
  'secret123',
  'mysecret',
  'supersecret',
  'supersecretkey',
  'titan',
  'titan123',
  'titan_dev',
  'postgres',
  'redis',
  'grafana',
  'nats',
  'root',
  'toor',
  'guest',
  'test',
  'testing',
  'default',
  'changeit',
  'letmein',
  'welcome',
  'qwerty',
  '123456',
  '12345678',
  '123456789',
  '1234567890',
  '000000',
];

const DEVELOPMENT_DEFAULT_SET = new Set(DEVELOPMENT_DEFAULTS);

/** A word that marks a value as made for development: `_staging_only`, `dummy_`, `-dev-`, `insecure`. */
const DEVELOPMENT_MARKER = /(^|[_\-.])(staging|staging_only|dev|development|dummy|insecure|fake|local)([_\-.]|$)/i;

/** A template's marker (`__CHANGE_ME__`, `<your key>`, `{{ secret }}`): never a deliberate value of any variable. */
export function isTemplatePlaceholder(value: string): boolean {
  const lower = value.trim().toLowerCase();
  if (PLACEHOLDER_WORDS.some((word) => lower.includes(word))) return true;
  return /^<[^>]*>$/.test(lower) || /^\{\{.*\}\}$/.test(lower) || /^\$\{[^}]*\}$/.test(lower);
}

/** A template marker or a filler (`TODO`, `xxx`, `***`, `none`): not a real value for a required variable. */
export function isPlaceholder(value: string): boolean {
  const lower = value.trim().toLowerCase();
  if (isTemplatePlaceholder(lower) || PLACEHOLDER_VALUES.has(lower)) return true;
  return /^\$[a-z_][a-z0-9_]*$/.test(lower) || /^(x{3,}|\*{3,}|\.{3,}|-+|_+|0+)$/.test(lower);
}

/**
 * A known development default (exact, case-insensitive), one the Compose files give as a fallback
 * (`extraDefaults`), or, with `markers`, a value that says it was made for development
 * (`..._staging_only`, `dummy_...`, `insecure-...`).
 */
export function isDevelopmentDefault(
  value: string,
  options: { extraDefaults?: ReadonlySet<string>; markers?: boolean } = {},
): boolean {
  const lower = value.trim().toLowerCase();
  if (DEVELOPMENT_DEFAULT_SET.has(lower)) return true;
  for (const extra of options.extraDefaults ?? []) if (extra.toLowerCase() === lower) return true;
  return options.markers === true && DEVELOPMENT_MARKER.test(lower);
}

/** Whether a domain (or an email's domain) is one reserved for examples, tests or local names. */
export function isReservedDomain(domain: string): boolean {
  const lower = domain.toLowerCase().replace(/\.$/, '');
  return RESERVED_DOMAINS.some((reserved) => lower === reserved || lower.endsWith(`.${reserved}`));
}
