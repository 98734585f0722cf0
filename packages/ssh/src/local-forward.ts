/**
 * A local TCP listener on 127.0.0.1 (a port the system picks) whose every accepted connection is
 * carried through the SSH connection to an address as seen from the remote host (ssh2 forwardOut,
 * a `direct-tcpip` channel). This is how HTTP health checks and the NATS client reach services that
 * listen on the host's loopback only, with no curl on the host and no port opened.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@titan/log/logger';
import { describeError } from './errors.js';

export interface LocalForward extends AsyncDisposable {
  /** Always 127.0.0.1. */
  readonly localHost: string;
  readonly localPort: number;
  /** `host:port` as seen from the remote host. */
  readonly target: string;
  /** `http://127.0.0.1:PORT` + path, for HTTP clients. */
  url(path?: string): string;
  /** Stops listening and closes every forwarded connection. */
  close(): Promise<void>;
}

/** Starts a forward; `openTunnel` opens one tunnel channel per accepted connection. */
export async function startLocalForward(options: {
  openTunnel: () => Promise<Duplex>;
  target: string;
  logger: Logger;
  /** Called once when the forward closes. */
  onClose?: () => void;
}): Promise<LocalForward> {
  const { openTunnel, target, logger } = options;
  const live = new Set<Socket | Duplex>();
  let closing = false;

  const server: Server = createServer((socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    live.add(socket);
    socket.on('error', (error) => logger.debug(`forward to ${target}: local socket error: ${describeError(error)}`));
    socket.once('close', () => live.delete(socket));
    socket.pause();
    openTunnel().then(
      (tunnel) => {
        if (closing || socket.destroyed) {
          tunnel.destroy();
          socket.destroy();
          return;
        }
        live.add(tunnel);
        tunnel.on('error', (error: unknown) => logger.debug(`forward to ${target}: tunnel error: ${describeError(error)}`));
        tunnel.once('close', () => {
          live.delete(tunnel);
          socket.destroy();
        });
        socket.once('close', () => tunnel.destroy());
        socket.pipe(tunnel);
        tunnel.pipe(socket);
        socket.resume();
      },
      (error: unknown) => {
        logger.warning(`forward to ${target}: could not open a tunnel: ${describeError(error)}`);
        socket.destroy();
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.warning(`forward to ${target}: listener error: ${describeError(error)}`));
  const address = server.address();
  const localPort = typeof address === 'object' && address !== null ? address.port : 0;
  logger.debug(`forwarding 127.0.0.1:${localPort} to ${target} on the remote host`);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      options.onClose?.();
      for (const stream of live) stream.destroy();
      live.clear();
      server.close(() => resolve());
    });
    return closed;
  };

  return {
    localHost: '127.0.0.1',
    localPort,
    target,
    url: (path = '/') => `http://127.0.0.1:${localPort}${path.startsWith('/') ? path : `/${path}`}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
