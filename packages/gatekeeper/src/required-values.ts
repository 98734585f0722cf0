/**
 * The production values a deploy needs come from the release source (services.yml's
 * `values.required`, @titan/release/services-file); the `required` input of gatekeeper and
 * provision changes that set: plain `NAME` lines replace it, `+NAME` adds, `-NAME` removes.
 */
export class RequiredValuesError extends Error {
  override readonly name = 'RequiredValuesError';
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The required set from `required` lines: plain names replace the release's set, `+NAME` adds,
 * `-NAME` removes. No lines: the release's set. Lines that are not names throw RequiredValuesError.
 */
export function resolveRequiredValues(lines: readonly string[], defaults: readonly string[]): string[] {
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
