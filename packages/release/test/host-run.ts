import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The host's check of a release bundle as its source file holds it (packages/host/scripts/
 * check-bundle.sh, the host script titan-check-bundle): it sources no library, so it runs as it is.
 */
export const CHECK_BUNDLE_SCRIPT = readFileSync(join(import.meta.dirname, '../../host/scripts/check-bundle.sh'), 'utf8');

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the host verification script the way a host does: `sh` (dash here), real openssl and sha256sum. */
export async function runHostScript(
  scratchDir: string,
  args: readonly string[],
  options: { as?: 'file' | 'stdin' | 'argument' } = {},
): Promise<ScriptRun> {
  const script = join(scratchDir, 'verify-release.sh');
  await writeFile(script, CHECK_BUNDLE_SCRIPT);
  const run =
    options.as === 'stdin'
      ? spawnSync('sh', ['-s', '--', ...args], { input: CHECK_BUNDLE_SCRIPT, encoding: 'utf8' })
      : options.as === 'argument'
        ? spawnSync('sh', ['-c', CHECK_BUNDLE_SCRIPT, 'verify-release.sh', ...args], { encoding: 'utf8' })
        : spawnSync('sh', [script, ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A trust folder as provisioning leaves it: one PEM per trusted key, named `<key id>.pem`; `revoked/NAME` entries go in its revoked/ folder. */
export async function trustFolder(dir: string, pems: Record<string, string>): Promise<string> {
  await mkdir(join(dir, 'revoked'), { recursive: true });
  for (const [name, pem] of Object.entries(pems)) await writeFile(join(dir, name), pem);
  return dir;
}

/** A copy of a bundle folder, to change on purpose. */
export async function copyBundle(bundle: string, to: string): Promise<string> {
  await cp(bundle, to, { recursive: true, verbatimSymlinks: true });
  return to;
}
