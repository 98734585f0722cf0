/**
 * The payload of an age file (age-encryption.org/v1) as Node streams, with Node's own (OpenSSL)
 * ChaCha20-Poly1305: the `age-encryption` package makes and reads the header (the file key wrapped
 * to each recipient, the header MAC), this file does the bulk of the bytes, which the package does
 * in JavaScript at about a tenth of the speed.
 *
 * The format, from the age specification: after the header come a 16-byte nonce and the payload,
 * the plaintext in chunks of 64 KiB, each sealed with ChaCha20-Poly1305 under
 * HKDF-SHA256(ikm = file key, salt = nonce, info = "payload"), the 12-byte nonce of chunk i being
 * i as an 11-byte big-endian counter and one byte that is 1 for the last chunk and 0 otherwise.
 * The last chunk may be full; it is empty only when the plaintext is. So a damaged, truncated,
 * extended or reordered payload fails to open, at the chunk where it is.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

export const CHUNK_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
export const PAYLOAD_NONCE_SIZE = 16;

/** The key the payload is sealed with, from the file key and the payload nonce. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

type Push = (bytes: Buffer) => void;

/**
 * Cuts a byte stream into pieces of `size` bytes and hands each to `process` with its index: a full
 * piece only once more data follows, so the last one (full, short or, for no data at all, empty) is
 * processed as last at `finish`.
 */
abstract class Pieces {
  readonly #pending: Buffer;
  #used = 0;
  #index = 0;

  constructor(size: number) {
    this.#pending = Buffer.allocUnsafe(size);
  }

  /** Processes one piece, pushing what comes of it (nothing before the piece is known good). */
  protected abstract process(piece: Buffer, index: number, last: boolean, push: Push): void;

  take(chunk: Buffer, push: Push): void {
    for (let offset = 0; offset < chunk.length; ) {
      if (this.#used === this.#pending.length) {
        this.process(this.#pending, this.#index, false, push);
        this.#index += 1;
        this.#used = 0;
      }
      const copied = chunk.copy(this.#pending, this.#used, offset);
      this.#used += copied;
      offset += copied;
    }
  }

  finish(push: Push): void {
    this.process(this.#pending.subarray(0, this.#used), this.#index, true, push);
  }
}

/** Seals the plaintext into payload chunks as it comes (`take`), the last one at `finish`. */
export class PayloadSealer extends Pieces {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    super(CHUNK_SIZE);
    this.#key = key;
  }

  protected process(plain: Buffer, index: number, last: boolean, push: Push): void {
    const cipher = createCipheriv('chacha20-poly1305', this.#key, chunkNonce(index, last), { authTagLength: TAG_SIZE });
    // The ciphertext and its tag as they come: no copy into one buffer (ChaCha20's final() adds no bytes).
    push(cipher.update(plain));
    cipher.final();
    push(cipher.getAuthTag());
  }
}

export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

/** Opens payload chunks as they come (`take`), the last one at `finish`; throws PayloadError on damage. */
export class PayloadOpener extends Pieces {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    super(CHUNK_SIZE + TAG_SIZE);
    this.#key = key;
  }

  protected process(sealed: Buffer, index: number, last: boolean, push: Push): void {
    if (sealed.length < TAG_SIZE) throw new PayloadError(`the payload is truncated: chunk ${index} has ${sealed.length} bytes`);
    const decipher = createDecipheriv('chacha20-poly1305', this.#key, chunkNonce(index, last), { authTagLength: TAG_SIZE });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    let plain: Buffer;
    try {
      plain = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
      // Checks the tag (and adds no bytes): the plaintext goes on only once it passed.
      decipher.final();
    } catch {
      throw new PayloadError(`chunk ${index} of the payload fails authentication: the data is damaged, truncated or not what was encrypted`);
    }
    if (last && plain.length === 0 && index > 0) throw new PayloadError('the payload ends with an empty chunk');
    push(plain);
  }
}
