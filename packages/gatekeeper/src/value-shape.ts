import { isReservedDomain } from './weak-values.js';

/**
 * What a production value must look like, from its name: secrets long and varied enough to have
 * been generated, the ACME contact a deliverable email, the domain a public hostname.
 */
export type ValueKind = 'secret' | 'email' | 'hostname' | 'setting';

export const MIN_SECRET_LENGTH = 16;
/** A generated secret of 16+ characters has far more distinct characters than this. */
export const MIN_SECRET_DISTINCT_CHARACTERS = 6;

export function valueKind(name: string): ValueKind {
  const upper = name.toUpperCase();
  if (/(^|_)EMAIL$/.test(upper)) return 'email';
  if (upper === 'DOMAIN' || /(^|_)(DOMAIN|HOSTNAME)$/.test(upper)) return 'hostname';
  if (/(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|_KEY)$/.test(upper) || upper.includes('SECRET')) return 'secret';
  return 'setting';
}

/** Why a value does not have the shape its kind needs; undefined when it does. Never includes the value. */
export function shapeProblem(kind: ValueKind, value: string): string | undefined {
  switch (kind) {
    case 'secret':
      if (value.length < MIN_SECRET_LENGTH) return `is too short to be a generated secret (${value.length} characters; at least ${MIN_SECRET_LENGTH} needed)`;
      if (new Set(value).size < MIN_SECRET_DISTINCT_CHARACTERS) return 'has too few distinct characters to be a generated secret';
      return undefined;
    case 'email': {
      const match = value.match(/^[^\s@]+@([^\s@]+)$/);
      if (match === null || !isHostname(match[1] ?? '')) return 'is not a valid email address';
      if (isReservedDomain(match[1] ?? '')) return 'is an address at a reserved example or test domain, which cannot receive mail';
      return undefined;
    }
    case 'hostname':
      if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value) || value.includes(':')) return 'is an IP address; a public hostname is needed';
      if (!isHostname(value)) return 'is not a valid fully qualified hostname (e.g. titan.your-company.net)';
      if (isReservedDomain(value)) return 'is a reserved example, test or local name, not a public hostname';
      return undefined;
    case 'setting':
      return undefined;
  }
}

function isHostname(text: string): boolean {
  const host = text.replace(/\.$/, '');
  if (host.length > 253) return false;
  const labels = host.split('.');
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1] ?? '';
  if (!/^[a-z]{2,63}$|^xn--[a-z0-9-]{1,59}$/i.test(tld)) return false;
  return labels.every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}
