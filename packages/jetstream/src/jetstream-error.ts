/** A JetStream backup or restore that failed; the message names the stream and what NATS said. */
export class JetStreamBackupError extends Error {
  override readonly name = 'JetStreamBackupError';
}

/** The error of a JetStream API answer (`{"error":{"code":404,"description":"stream not found"}}`), if it is one. */
export function apiError(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) return 'the answer is not a JSON object';
  const error = (answer as { error?: unknown }).error;
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'string') return error;
  if (typeof error !== 'object') return 'error';
  const { code, description, err_code: errCode } = error as { code?: unknown; description?: unknown; err_code?: unknown };
  return `${typeof description === 'string' ? description : 'error'} (${typeof code === 'number' ? code : '?'}${typeof errCode === 'number' ? `/${errCode}` : ''})`;
}
