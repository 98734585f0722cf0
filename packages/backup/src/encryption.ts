/**
 * Client-side encryption of every backup object with age (the `age-encryption` package): to one or
 * more public recipients (`age1…`), so that neither the host nor Spaces can read a backup and the
 * runner that takes it holds no key that decrypts it. The only identity a backup run may hold is the
 * separate verify key, whose recipient must be one of the recipients: it proves each backup can be
 * restored, and is rotated on its own. `encryption: none` is explicit, never a fallback.
 *
 * Streams are age's STREAM format (ChaCha20-Poly1305 in 64 KiB chunks): a damaged, truncated or
 * reordered object fails to decrypt; decrypting never holds more than a chunk.
 */
import { Readable } from 'node:stream';
import * as age from 'age-encryption';

export type Encryption = { readonly scheme: 'age'; readonly recipients: readonly string[] } | { readonly scheme: 'none' };

export class EncryptionError extends Error {
  override readonly name = 'EncryptionError';
}

/** Checks age recipients (`age1…`, one per entry); the message names the bad one (they are public keys). */
export function checkRecipients(recipients: readonly string[]): string[] {
  if (recipients.length === 0) throw new EncryptionError('No age recipient given: a backup is encrypted to at least one public key (age1…).');
  const checked: string[] = [];
  for (const recipient of recipients) {
    try {
      new age.Encrypter().addRecipient(recipient);
    } catch (error: unknown) {
      throw new EncryptionError(`${JSON.stringify(recipient.slice(0, 80))} is not an age recipient (${error instanceof Error ? error.message : String(error)}): expected a public key age1…, as age-keygen -y prints it.`);
    }
    if (!checked.includes(recipient)) checked.push(recipient);
  }
  return checked;
}

/** The public recipient of an age identity (`AGE-SECRET-KEY-1…`); the message never shows the identity. */
export async function recipientOf(identity: string, what: string): Promise<string> {
  try {
    return await age.identityToRecipient(identity.trim());
  } catch (error: unknown) {
    throw new EncryptionError(`${what} is not an age identity (${error instanceof Error ? error.message : 'unreadable'}): expected AGE-SECRET-KEY-1…, as age-keygen writes it.`);
  }
}

function toWeb(source: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(source) as ReadableStream<Uint8Array>;
}

function fromWeb(stream: ReadableStream<Uint8Array>): Readable {
  return Readable.fromWeb(stream);
}

/** `source` encrypted as it streams (or `source` itself with scheme none). */
export async function encryptStream(source: Readable, encryption: Encryption): Promise<Readable> {
  if (encryption.scheme === 'none') return source;
  const encrypter = new age.Encrypter();
  for (const recipient of encryption.recipients) encrypter.addRecipient(recipient);
  return fromWeb(await encrypter.encrypt(toWeb(source)));
}

/**
 * `source` decrypted with `identity` as it streams (or `source` itself with scheme none). A wrong key
 * fails before the first byte comes out; damage fails at the chunk it is in.
 */
export async function decryptStream(source: Readable, encryption: Encryption, identity: string | undefined): Promise<Readable> {
  if (encryption.scheme === 'none') return source;
  if (identity === undefined) throw new EncryptionError('The backup is encrypted with age and no identity was given to decrypt it.');
  const decrypter = new age.Decrypter();
  decrypter.addIdentity(identity.trim());
  try {
    return fromWeb(await decrypter.decrypt(toWeb(source)));
  } catch (error: unknown) {
    source.destroy();
    throw new EncryptionError(`The object cannot be decrypted with the given identity (${error instanceof Error ? error.message : String(error)}): it was encrypted to other recipients, or its header is damaged.`);
  }
}
