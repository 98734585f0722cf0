import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a JSON value: object members sorted by the UTF-16
 * code units of their names, no whitespace, numbers as ECMAScript prints them (1e+21, 0.000001,
 * 1e-7, -0 as 0), strings with JSON.stringify's minimal escaping. The bytes of a manifest are its
 * UTF-8 encoding, so equal values always give identical bytes.
 *
 * Only plain JSON values are accepted: `canonicalize` alone would silently drop `undefined` members,
 * turn `undefined` array items into null, and call `toJSON` (Dates). Those are refused here, with
 * the path of the offending value, because a signed document must say exactly what it holds.
 */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  assertJsonValue(value, '$', new Set());
  const text = canonicalize(value);
  if (text === undefined) throw new CanonicalJsonError('$: value has no JSON representation');
  return text;
}

/** The UTF-8 bytes of canonicalJson(value): what is hashed and signed. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** A lone surrogate is a code point of category Cs when the string is read by code points. */
const LONE_SURROGATE = /\p{Cs}/u;

function assertJsonValue(value: unknown, path: string, ancestors: Set<object>): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError(`${path}: string holds a lone UTF-16 surrogate`);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: ${String(value)} is not a finite number`);
    return;
  }
  if (typeof value === 'object') {
    if (ancestors.has(value)) throw new CanonicalJsonError(`${path}: circular reference`);
    ancestors.add(value);
    assertContainer(value, path, ancestors);
    ancestors.delete(value);
    return;
  }
  throw new CanonicalJsonError(`${path}: ${typeof value} is not a JSON value`);
}

function assertContainer(value: object, path: string, ancestors: Set<object>): void {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      if (!(index in value)) throw new CanonicalJsonError(`${path}[${index}]: array has a hole`);
      assertJsonValue((value as unknown[])[index], `${path}[${index}]`, ancestors);
    }
    return;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new CanonicalJsonError(`${path}: only plain objects are JSON objects (got ${describe(value)})`);
  }
  for (const [key, member] of Object.entries(value)) {
    if (LONE_SURROGATE.test(key)) throw new CanonicalJsonError(`${path}: member name holds a lone UTF-16 surrogate`);
    assertJsonValue(member, `${path}.${key}`, ancestors);
  }
}

function describe(value: object): string {
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'an object with a prototype';
}
