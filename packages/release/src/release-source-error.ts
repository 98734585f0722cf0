/**
 * Something wrong with the release source (services.yml and the files it names): the message names
 * the file, relative to the source folder, and says how to fix it.
 */
export class ReleaseSourceError extends Error {
  override readonly name: string = 'ReleaseSourceError';

  readonly path: string;
  constructor(
    /** The file or folder at fault, relative to the source folder (or as given, when outside it). */
    path: string,
    problem: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${path}: ${problem}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = path;
  }
}
