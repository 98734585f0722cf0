/**
 * Client-side encryption of every backup object with age (the `age-encryption` package): to one or
 * more public recipients (`age1…`), so that neither the host nor Spaces can read a backup and the
 * runner that takes it holds no key that decrypts it. The only identity a backup run may hold is the
 * separate verify key, whose recipient must be one of the recipients: it proves each backup can be
 * restored, and is rotated on its own. `encryption: none` is explicit, never a fallback.
 *
 * Streams are age's STREAM format (ChaCha20-Poly1305 in 64 KiB chunks, sealed and opened with Node's
 * own cipher: age-payload.ts): a damaged, truncated or reordered object fails to decrypt;
 * decrypting never holds more than a chunk. Any age implementation reads what this writes.
 */
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import * as age from 'age-encryption';
import { PAYLOAD_NONCE_SIZE, PayloadOpener, PayloadSealer, payloadKey, TAG_SIZE } from './age-payload.js';

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

/**
 * `source` encrypted as it streams (or `source` itself with scheme none): the header from the age
 * package (which wraps a fresh file key to every recipient), the payload sealed natively
 * (age-payload.ts). The package makes the header by encrypting an empty file; a recipient of our own
 * beside the real ones is handed the file key (it adds no stanza), and the empty file's one sealed
 * chunk is dropped (it never leaves this function).
 */
export async function encryptStream(source: Readable, encryption: Encryption): Promise<Readable> {
  if (encryption.scheme === 'none') return source;
  const encrypter = new age.Encrypter();
  for (const recipient of encryption.recipients) encrypter.addRecipient(recipient);
  let fileKey: Uint8Array | undefined;
  encrypter.addRecipient({ wrapFileKey: (key: Uint8Array) => ((fileKey = Uint8Array.from(key)), []) });
  const empty = await encrypter.encrypt(new Uint8Array(0));
  if (fileKey === undefined) throw new EncryptionError('The age encrypter made no file key.');
  const prefix = Buffer.from(empty.subarray(0, empty.length - TAG_SIZE));
  const sealer = new PayloadSealer(payloadKey(fileKey, prefix.subarray(prefix.length - PAYLOAD_NONCE_SIZE)));
  const sealing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sealer.take(chunk, (sealed) => this.push(sealed));
      callback();
    },
    flush(callback) {
      sealer.finish((sealed) => this.push(sealed));
      callback();
    },
  });
  sealing.push(prefix);
  return pipeline(source, sealing, () => undefined);
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
  const opening = new AgeOpening(decrypter);
  pipeline(source, opening, () => undefined);
  try {
    await opening.ready;
  } catch (error: unknown) {
    source.destroy();
    throw new EncryptionError(`The object cannot be decrypted with the given identity (${error instanceof Error ? error.message : String(error)}): it was encrypted to other recipients, or its header is damaged.`);
  }
  return opening;
}

const MAX_HEADER = 64 * 1024;

/** An age file in, its plaintext out: the header read and checked by the age package, then the payload. */
class AgeOpening extends Transform {
  readonly ready: Promise<void>;
  readonly #decrypter: age.Decrypter;
  #head: Buffer = Buffer.alloc(0);
  #opener: PayloadOpener | undefined;
  #settle: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(decrypter: age.Decrypter) {
    super();
    this.#decrypter = decrypter;
    this.ready = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.ready.catch(() => undefined);
  }

  #fail(error: Error, callback: TransformCallback): void {
    this.#settle?.reject(error);
    callback(error);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#take(chunk, callback);
  }

  #take(chunk: Buffer, callback: TransformCallback): void {
    const opener = this.#opener;
    if (opener !== undefined) {
      try {
        opener.take(chunk, (plain) => this.push(plain));
        callback();
      } catch (error: unknown) {
        callback(error as Error);
      }
      return;
    }
    this.#head = Buffer.concat([this.#head, chunk]);
    const macLine = this.#head.indexOf('\n--- ');
    const end = macLine === -1 ? -1 : this.#head.indexOf('\n', macLine + 1) + 1;
    if (end <= 0 || this.#head.length < end + PAYLOAD_NONCE_SIZE) {
      if (this.#head.length > MAX_HEADER) this.#fail(new Error(`no age header in the first ${MAX_HEADER} bytes`), callback);
      else callback();
      return;
    }
    const head = this.#head;
    this.#head = Buffer.alloc(0);
    this.#decrypter.decryptHeader(head.subarray(0, end)).then(
      (fileKey) => {
        this.#opener = new PayloadOpener(payloadKey(fileKey, head.subarray(end, end + PAYLOAD_NONCE_SIZE)));
        this.#settle?.resolve();
        this.#take(head.subarray(end + PAYLOAD_NONCE_SIZE), callback);
      },
      (error: unknown) => this.#fail(error instanceof Error ? error : new Error(String(error)), callback),
    );
  }

  override _flush(callback: TransformCallback): void {
    const opener = this.#opener;
    if (opener === undefined) {
      this.#fail(new Error('the object ends inside the age header'), callback);
      return;
    }
    try {
      opener.finish((plain) => this.push(plain));
      callback();
    } catch (error: unknown) {
      callback(error as Error);
    }
  }
}
