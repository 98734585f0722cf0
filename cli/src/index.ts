import { resolve } from 'node:path';
import { findCommand } from './commands.js';
import { EXIT } from './exit-codes.js';
import { mainHelp } from './help.js';
import { runCommand } from './run-command.js';
import { processStreams } from './terminal.js';

// cli/dist/index.js (the bundle) or cli/lib/index.js: the repository is two folders up. Computed
// at run time, so that the bundler leaves the actions' action.yml files where they are.
const repository = resolve(import.meta.dirname, ...['..', '..']);

const [name, ...args] = process.argv.slice(2);
let status: number;
if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
  process.stdout.write(mainHelp());
  status = name === undefined ? EXIT.badInput : EXIT.ok;
} else {
  const command = findCommand(name);
  if (command === undefined) {
    process.stderr.write(`titan: unknown command "${name}". Run npx @titan/cli --help for the commands.\n`);
    status = EXIT.badInput;
  } else {
    status = await runCommand(command, args, { repository, streams: processStreams });
  }
}
// The run is over (its finally blocks ran, the summary is out): a handle still open (a connection
// closing, a host command's timer) must not keep the terminal waiting.
process.exit(status);
