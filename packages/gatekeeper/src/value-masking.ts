import type { EnvEntry } from './dotenv.js';
import { valueKind } from './value-shape.js';

/**
 * Which production values are secrets to mask, and redaction of them from text that leaves the
 * process (outputs, the job summary, an error message): a second line of defence, since findings
 * never carry values in the first place.
 *
 * Every value is masked, except a short value (under 6 characters) of a variable that is neither
 * required nor named like a secret: a uid, a port, a mode. Masking `105` would blank every 105 in
 * the log, line numbers included.
 */
export const SHORT_SETTING_LENGTH = 6;

export function valuesToMask(entries: Iterable<EnvEntry>, required: readonly string[]): string[] {
  const wanted = new Set(required);
  const out = new Set<string>();
  for (const entry of entries) {
    if (entry.value === '') continue;
    const secretLike = wanted.has(entry.name) || valueKind(entry.name) !== 'setting';
    if (secretLike || entry.value.length >= SHORT_SETTING_LENGTH) out.add(entry.value);
  }
  return [...out];
}

/** `text` with every occurrence of every value replaced by `***`, longest values first. */
export function redactValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    if (value === '') continue;
    out = out.split(value).join('***');
    const trimmed = value.trim();
    if (trimmed !== value && trimmed.length >= 4) out = out.split(trimmed).join('***');
  }
  return out;
}
