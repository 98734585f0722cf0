/**
 * Ending trust in the injected first-boot key. Over the connection pinned to the injected key, the
 * host makes its own Ed25519 key (`titan-host rotate-prepare`) and the action reads its public
 * half there, over the channel it already trusts; then `rotate-commit <fingerprint>` renames the
 * new key over the injected one and reloads sshd. The action reconnects pinned to the new key only
 * and checks that sshd offers exactly that one key. From then on the injected key, still readable
 * in the user data, opens nothing.
 */
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { knownHostsName } from '@titan/ssh/host-key-pins';
import { connectPinned, hostHelper, readHostStatus, type HostEndpoint } from './host-session.js';
import type { HostStatus } from './host-status.js';
import { publicKeyFingerprint } from './injected-host-key.js';

export interface RotatedHostKey {
  readonly publicKey: string;
  readonly fingerprint: string;
  readonly connection: SshConnection;
  readonly status: HostStatus;
}

export class HostKeyRotationError extends Error {
  override readonly name = 'HostKeyRotationError';
}

export async function rotateHostKey(connection: SshConnection, endpoint: HostEndpoint, logger: Logger, deadlineMs: number): Promise<RotatedHostKey> {
  const prepared = (await hostHelper(connection, ['rotate-prepare'])).trim().split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (prepared === undefined) throw new HostKeyRotationError('titan-host rotate-prepare printed no ssh-ed25519 public key');
  const publicKey = prepared.split(/\s+/).slice(0, 2).join(' ');
  const fingerprint = publicKeyFingerprint(publicKey);
  logger.info(`the host made its own host key ${fingerprint}; switching sshd to it`);
  await hostHelper(connection, ['rotate-commit', fingerprint]);
  await connection.close();
  const pinned = await connectPinned(endpoint, [publicKey], logger, deadlineMs);
  const status = await readHostStatus(pinned);
  if (status.hostKeyFingerprint !== fingerprint || status.rotatedTo !== fingerprint || status.hostKeyCount !== 1) {
    await pinned.close();
    throw new HostKeyRotationError(
      `after rotation the host reports host key ${status.hostKeyFingerprint} (${status.hostKeyCount} offered, rotation record ${status.rotatedTo ?? 'none'}), expected exactly ${fingerprint}`,
    );
  }
  return { publicKey, fingerprint, connection: pinned, status };
}

/** The known_hosts line for the host's key at `address`:`port`. */
export function knownHostsLine(address: string, port: number, publicKey: string): string {
  return `${knownHostsName(address, port)} ${publicKey.split(/\s+/).slice(0, 2).join(' ')}`;
}
