/**
 * A production values file (`shared/.env.prod`) as Compose and the gate read it: the gatekeeper's
 * own dotenv reader, so that a quoted value, an `export ` prefix or a comment reads as its value,
 * whatever values the test host generated. The values are secrets: never print them.
 */
import { readFileSync } from 'node:fs';
import { parseDotenv } from '@titan/gatekeeper/dotenv';

export function readProductionValues(file: string): Map<string, string> {
  const parsed = parseDotenv(readFileSync(file, 'utf8'), file);
  if (parsed.problems.length > 0) throw new Error(`${file}: line ${parsed.problems[0]?.line ?? 0} ${parsed.problems[0]?.reason ?? ''}`);
  return new Map(parsed.entries.map((e) => [e.name, e.value]));
}

/** One value of the file; throws when it is not set. */
export function productionValue(file: string, name: string): string {
  const value = readProductionValues(file).get(name);
  if (value === undefined) throw new Error(`${name} is not set in ${file}`);
  return value;
}
