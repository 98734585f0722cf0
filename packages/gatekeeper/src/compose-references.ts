import type { ComposeFile } from './compose-file.js';
import { isFailFast } from './compose-interpolation.js';
import type { Finding } from './finding.js';
import type { Place } from './located-yaml.js';

/**
 * How the Compose files reference production values. A required secret must be a fail-fast
 * reference, `${VAR:?message}`: `$VAR`, `${VAR}` and `${VAR:-default}` start the stack with an empty
 * or default secret when the value is missing, instead of refusing to.
 */
export function checkSecretReferences(files: readonly ComposeFile[], required: readonly string[]): Finding[] {
  const wanted = new Set(required);
  const findings: Finding[] = [];
  for (const file of files) {
    for (const reference of file.references) {
      if (!wanted.has(reference.name) || isFailFast(reference)) continue;
      const written = reference.braced ? `\${${reference.name}${reference.operator}${reference.operator === '' ? '' : '...'}}` : `$${reference.name}`;
      findings.push({
        check: 'compose',
        severity: 'error',
        file: reference.file,
        line: reference.line,
        message: `${reference.name} is referenced as ${written}, so ${consequence(reference.operator)} instead of stopping Compose`,
        fix: `Write \${${reference.name}:?${reference.name} must be set}`,
      });
    }
  }
  return findings;
}

function consequence(operator: string): string {
  if (operator === '?') return 'an empty value is accepted';
  if (operator.includes('-')) return 'a missing value falls back to a default';
  if (operator.includes('+')) return 'the value is replaced';
  return 'a missing value becomes an empty string';
}

/** Variables referenced fail-fast (`${VAR:?}`), each with its first place: Compose refuses to start without them. */
export function failFastVariables(files: readonly ComposeFile[]): Map<string, Place> {
  const found = new Map<string, Place>();
  for (const file of files) {
    for (const reference of file.references) {
      if (isFailFast(reference) && !found.has(reference.name)) found.set(reference.name, { file: reference.file, line: reference.line });
    }
  }
  return found;
}

/** The literal fallbacks the files give each variable (`${VAR:-value}`): development defaults for that variable. */
export function composeDefaults(files: readonly ComposeFile[]): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const file of files) {
    for (const reference of file.references) {
      if ((reference.operator !== ':-' && reference.operator !== '-') || reference.argument.includes('$') || reference.argument === '') continue;
      const set = found.get(reference.name) ?? new Set<string>();
      set.add(reference.argument);
      found.set(reference.name, set);
    }
  }
  return found;
}
