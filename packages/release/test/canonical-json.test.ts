import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonBytes } from '@titan/release/canonical-json';

function fromIeee754(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson: RFC 8785 examples', () => {
  // RFC 8785 Appendix B: IEEE 754 bit patterns and the text JCS requires for them.
  const appendixB: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  it.each(appendixB)('serializes the double %s as %s', (hex, expected) => {
    expect(canonicalJson(fromIeee754(hex))).toBe(expected);
    expect(canonicalJson([fromIeee754(hex)])).toBe(`[${expected}]`);
  });

  it('writes the numbers named in the brief as RFC 8785 says', () => {
    // 333333333.33333329 is the RFC's own input literal: it is the double printed as 333333333.3333333.
    // eslint-disable-next-line no-loss-of-precision
    expect(canonicalJson({ a: 1e21, b: 0.000001, c: 1e-7, d: -0, e: 333333333.33333329 })).toBe(
      '{"a":1e+21,"b":0.000001,"c":1e-7,"d":0,"e":333333333.3333333}',
    );
  });

  it('refuses NaN and the infinities (Appendix B: 7fffffffffffffff, 7ff0000000000000)', () => {
    expect(() => canonicalJson(fromIeee754('7fffffffffffffff'))).toThrow(/NaN is not a finite number/);
    expect(() => canonicalJson({ x: fromIeee754('7ff0000000000000') })).toThrow(/\$\.x: Infinity is not a finite number/);
    expect(() => canonicalJson([-Infinity])).toThrow(/\$\[0\]: -Infinity/);
  });

  it('reproduces the RFC 8785 section 3.2.3 sorting example (UTF-16 code unit order)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    ) as unknown;
    const expected =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    expect(canonicalJson(input)).toBe(expected);
    // The emoji (a surrogate pair, D83D DE00) sorts before U+FB33 by code units, though its code point is higher.
    const text = canonicalJson(input);
    expect(text.indexOf('\ud83d\ude00')).toBeLessThan(text.indexOf('\ufb33'));
  });

  it('reproduces the RFC 8785 section 3.2.4 example, byte for byte in UTF-8', () => {
    const input = JSON.parse(
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
        '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
    ) as unknown;
    const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalJson(input)).toBe(expected);
    // Section 3.2.4's hex dump of the UTF-8 output.
    const hex = [
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72',
      '75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a',
      '5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31',
      '65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37',
      '5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30',
      '30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d',
    ].join(' ');
    expect(canonicalJsonBytes(input).toString('hex')).toBe(hex.replace(/ /g, ''));
  });
});

describe('canonicalJson: what it refuses', () => {
  it('refuses values JSON cannot carry exactly, naming where they are', () => {
    expect(() => canonicalJson({ a: undefined })).toThrow(/\$\.a: undefined is not a JSON value/);
    expect(() => canonicalJson([1, undefined])).toThrow(/\$\[1\]: undefined/);
    expect(() => canonicalJson({ when: new Date(0) })).toThrow(/\$\.when: only plain objects.*Date/);
    expect(() => canonicalJson({ n: 10n })).toThrow(/bigint is not a JSON value/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function is not a JSON value/);
    expect(() => canonicalJson('\ud800')).toThrow(/lone UTF-16 surrogate/);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalJson([1, , 3])).toThrow(/array has a hole/);
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => canonicalJson(cycle)).toThrow(/circular reference/);
  });

  it('accepts the same object twice when it is not its own ancestor', () => {
    const shared = { b: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"b":1},"y":{"b":1}}');
  });
});

/** Arbitrary JSON values: unicode strings and keys (astral planes included), doubles, nesting. */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** The same value with every object's members inserted in a shuffled order. */
function reinsert(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reinsert(v, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const shuffled = entries
    .map((entry, i) => ({ entry, key: Math.sin(seed * 7919 + i * 104729) }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.entry);
  const out: Record<string, unknown> = {};
  for (const [k, v] of shuffled) out[k] = reinsert(v, seed + 1);
  return out;
}

describe('canonicalJson: properties', () => {
  it('gives identical bytes for equal values whatever the insertion order', () => {
    fc.assert(
      fc.property(jsonValue, fc.integer(), (value, seed) => {
        expect(canonicalJsonBytes(reinsert(value, seed)).equals(canonicalJsonBytes(value))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips: JSON.parse(canonical) deep-equals the input (-0 aside, which JSON writes as 0)', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const normalized = JSON.parse(JSON.stringify(value)) as unknown;
        expect(JSON.parse(canonicalJson(value))).toStrictEqual(normalized);
      }),
      { numRuns: 500 },
    );
  });

  it('sorts integer-like member names as strings, not as numbers', () => {
    expect(canonicalJson({ 9: 'a', 10: 'b', a: 'c', '': 'd' })).toBe('{"":"d","10":"b","9":"a","a":"c"}');
  });

  it('refuses every string holding a lone surrogate', () => {
    fc.assert(
      // fc.string() is printable ASCII: nothing around the lone unit can pair with it.
      fc.property(fc.string(), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string(), (before, unit, after) => {
        const lone = `${before}${String.fromCharCode(unit)}${after}`;
        expect(() => canonicalJson({ [lone]: 1 })).toThrow(/lone UTF-16 surrogate/);
        expect(() => canonicalJson([lone])).toThrow(/lone UTF-16 surrogate/);
      }),
    );
  });

  it('is idempotent and stable across runs: canonical(parse(canonical(x))) === canonical(x)', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const once = canonicalJson(value);
        expect(canonicalJson(JSON.parse(once))).toBe(once);
        expect(canonicalJson(value)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  it('sorts members by UTF-16 code units, at every depth', () => {
    fc.assert(
      // Keys start with "k": a parsed object would list integer-like keys first, whatever the text says.
      fc.property(fc.dictionary(fc.string({ unit: 'binary', maxLength: 4 }).map((k) => `k${k}`), fc.integer(), { minKeys: 2, maxKeys: 8 }), (record) => {
        const keys = Object.keys((JSON.parse(canonicalJson({ nested: record })) as { nested: object }).nested);
        const byCodeUnits = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(keys).toEqual(byCodeUnits);
      }),
    );
  });

  it('keeps generated manifests byte-identical under member shuffling', () => {
    const manifestLike = fc.record({
      schemaVersion: fc.constant(1),
      releaseId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
      git: fc.record({ sha: fc.stringMatching(/^[0-9a-f]{40}$/), ref: fc.string({ unit: 'grapheme' }) }),
      images: fc.dictionary(
        fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
        fc.record({ image: fc.constant('127.0.0.1:5000/titan/x'), digest: fc.stringMatching(/^sha256:[0-9a-f]{64}$/) }),
      ),
      files: fc.array(fc.record({ path: fc.stringMatching(/^[a-z]{1,8}$/), sha256: fc.stringMatching(/^[0-9a-f]{64}$/), size: fc.nat() })),
    });
    fc.assert(
      fc.property(manifestLike, fc.integer(), (manifest, seed) => {
        expect(canonicalJson(reinsert(manifest, seed))).toBe(canonicalJson(manifest));
      }),
      { numRuns: 300 },
    );
  });
});
