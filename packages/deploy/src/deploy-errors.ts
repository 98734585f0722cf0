/**
 * Why a deploy stopped, each naming what is wrong and what to do. None carries a secret.
 */

/** The host is not ready for a deploy (not provisioned, no trusted key, production values missing or readable by others). */
export class HostNotReadyError extends Error {
  override readonly name = 'HostNotReadyError';
}

/** A migration the database already applied differs from (or is missing in) the release. */
export class MigrationDriftError extends Error {
  override readonly name = 'MigrationDriftError';
}

