import { readFile, stat } from 'node:fs/promises';
import { parseDotenv } from './dotenv.js';
import type { ValuesSource } from './production-values.js';

/** An env file of production values, parsed, with its permission bits (a world-readable one is reported). */
export class EnvFileError extends Error {
  override readonly name = 'EnvFileError';
}

export async function readEnvFile(path: string, origin: string): Promise<ValuesSource> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { origin, parsed: parseDotenv(text, origin), mode: info.mode };
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new EnvFileError(`${path} cannot be read (${code})`);
  }
}
