/**
 * The stack profile check: the release source's stack.yml (see @titan/release/stack-profile) is
 * there, well formed, and describes the services the compose files define (each in one group or in
 * infrastructure, the database in infrastructure, the halt responder in a trading group, each health
 * port the one its service's PORT says and publishes, ...).
 * Sign refuses a release without a sound profile; the gate says so first, before anything is built,
 * with every problem at its line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STACK_FILE, type StackCompose, stackProfileProblems } from '@titan/release/stack-profile-file';
import type { Finding } from './finding.js';

const CHECK = 'stack';

export async function checkStackProfileFile(sourceDir: string, displayPath: string, compose: StackCompose | undefined): Promise<Finding[]> {
  let text: string;
  try {
    text = await readFile(join(sourceDir, STACK_FILE), 'utf8');
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return [
      {
        check: CHECK,
        severity: 'error',
        file: displayPath,
        line: null,
        message: code === 'ENOENT' ? `${STACK_FILE} is missing: the release does not say how its services stop, answer health checks or take a HARD_HALT` : `${STACK_FILE} cannot be read (${code})`,
        fix: 'Write stack.yml beside services.yml (service groups in stop order, infrastructure, health endpoints, policy reporters, database, halt): see examples/titan/stack.yml',
      },
    ];
  }
  return stackProfileProblems(text, compose).map((p) => ({
    check: CHECK,
    severity: 'error',
    file: displayPath,
    line: p.line,
    message: p.message,
    fix: 'Correct stack.yml so that it describes the services of the compose files: see examples/titan/stack.yml',
  }));
}
