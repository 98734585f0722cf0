/** An image manifest digest as registries and `docker/build-push-action` give it. */
export const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isImageDigest(text: string): boolean {
  return IMAGE_DIGEST.test(text);
}

/**
 * The digest in the text of a digest file: exactly `sha256:<64 lowercase hex>`, optionally followed
 * by one newline (what `echo` leaves). Anything else (spaces, uppercase, a tag, a second line) is
 * undefined: a digest is never guessed at.
 */
export function parseDigestFile(text: string): string | undefined {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return IMAGE_DIGEST.test(body) ? body : undefined;
}

/** A short, safe rendering of a value that should have been a digest, for error messages. */
export function describeBadDigest(text: string): string {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  return text === '' ? 'the file is empty' : `got ${shown}`;
}
