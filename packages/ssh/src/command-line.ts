/**
 * The command line a remote command runs as: the process group id announced first on stderr
 * (`echo titan-ssh-pgid:$$ >&2`), a fixed PATH, then `exec` of the quoted argv or of the script's
 * interpreter; and the helper line that kills such a process group (remote-command.ts).
 */
import { SshConfigError } from './errors.js';
import { type Arg, commandLine, displayCommand, quoteArg, secretValues } from './shell-quote.js';

/** PATH every remote command runs with (set in the command line: sshd refuses most env requests). */
export const REMOTE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the shell writes first on stderr, followed by its process group id. */
export const PGID_MARKER = 'titan-ssh-pgid:';
/** A script is passed inline as one argument; Linux caps one argument at 128 KiB. */
const MAX_SCRIPT_BYTES = 100 * 1024;

/** A trusted shell script run with arguments (`sh -c SCRIPT NAME ARGS...`). */
export interface RemoteScript {
  script: string;
  args?: readonly Arg[];
  /** Interpreter: `sh` (default) or `bash`. */
  shell?: 'sh' | 'bash';
  /** Name shown in logs and errors instead of the script text (and `$0` inside it). */
  name?: string;
}

/** What to run: an argv array (each argument quoted) or a trusted script. */
export type RemoteCommand = readonly Arg[] | RemoteScript;

/** The remote command line and how to show it. */
export interface RenderedCommand {
  line: string;
  display: string;
  secrets: string[];
}

function isScript(command: RemoteCommand): command is RemoteScript {
  return !Array.isArray(command);
}

/** Builds the line sent to sshd: announce the process group, fix PATH, exec the quoted command. */
export function renderCommand(command: RemoteCommand): RenderedCommand {
  let argv: readonly Arg[];
  let display: string;
  if (isScript(command)) {
    const bytes = Buffer.byteLength(command.script);
    if (bytes > MAX_SCRIPT_BYTES) {
      throw new SshConfigError(
        `Script ${command.name ?? ''} is ${bytes} bytes; scripts are passed as one argument and must stay under ${MAX_SCRIPT_BYTES} bytes. Upload it as a file and run that instead.`,
      );
    }
    const shell = command.shell ?? 'sh';
    const name = command.name ?? 'script';
    const args = command.args ?? [];
    argv = [shell, '-c', command.script, name, ...args];
    display = [`${shell} -c <${name}>`, ...(args.length > 0 ? [displayCommand(args)] : [])].join(' ');
  } else {
    const args = command;
    if (args.length === 0) throw new SshConfigError('A remote command needs at least a program name.');
    argv = args;
    display = displayCommand(args);
  }
  const line = `echo ${PGID_MARKER}$$ >&2; PATH=${quoteArg(REMOTE_PATH)}; export PATH; exec ${commandLine(argv)}`;
  return { line, display, secrets: secretValues(argv) };
}

/**
 * The helper that kills a process group: SIGTERM, wait until no live process is left in the group
 * (polling every 50 ms) for at most the grace period (coreutils `timeout`), SIGKILL, wait up to 3 s
 * more. Zombies count as gone: an orphan is reaped whenever PID 1 gets to it. Exit status 0 means
 * the group is gone.
 */
export function killGroupLine(pgid: number, graceMs: number): string {
  const grace = (Math.max(50, graceMs) / 1000).toFixed(3);
  const waitGone =
    `while ps -eo pgid=,stat= | awk -v g="$g" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; do sleep 0.05; done`;
  return [
    '# shellcheck disable=SC2016 # the waiting loop is single-quoted on purpose: its own sh expands $g',
    `g=${pgid}; export g`,
    'kill -TERM -- -"$g" 2>/dev/null || exit 0',
    `timeout ${grace} sh -c ${quoteArg(waitGone)} && exit 0`,
    'kill -KILL -- -"$g" 2>/dev/null || exit 0',
    `timeout 3 sh -c ${quoteArg(waitGone)}`,
  ].join('\n');
}
