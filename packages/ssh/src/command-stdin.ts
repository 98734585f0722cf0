/**
 * A remote command's stdin: nothing (end of file at once), a string or a Buffer written whole, or
 * a stream piped with backpressure, whose error kills the command; a stream the command did not
 * read to its end is let go of once the command settled.
 */
import type { ClientChannel } from 'ssh2';
import type { CommandOptions } from './command-session.js';

type Stdin = CommandOptions['stdin'];

/** Starts feeding `stdin` into the command's channel; `onError` is told of a stream's error. */
export function feedStdin(channel: ClientChannel, stdin: Stdin, onError: (error: unknown) => void): void {
  if (stdin === undefined) {
    channel.end();
  } else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
    channel.end(stdin);
  } else {
    stdin.once('error', (error: unknown) => {
      stdin.unpipe(channel);
      onError(error);
    });
    stdin.pipe(channel);
  }
}

/** A command that exits without reading all its input leaves the source paused: let go of it. */
export function releaseStdin(channel: ClientChannel | undefined, stdin: Stdin): void {
  if (stdin !== undefined && typeof stdin !== 'string' && !Buffer.isBuffer(stdin) && channel) stdin.unpipe(channel);
}
