/**
 * Errors a user can act on. Every layer throws `KomaError` for bad input or a
 * missing resource; the CLI and the bot print `message` as one readable line and
 * never a stack trace. Anything else that escapes is a bug and is logged as such.
 */
export type KomaErrorCode =
  | 'invalid-input'
  | 'not-found'
  | 'conflict'
  | 'bad-image'
  | 'too-large'
  | 'corrupt-data'
  | 'config'
  | 'model'
  | 'cancelled'
  | 'render-failed'
  | 'permission';

export class KomaError extends Error {
  readonly code: KomaErrorCode;

  constructor(code: KomaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KomaError';
    this.code = code;
  }
}

export function isKomaError(error: unknown): error is KomaError {
  return error instanceof KomaError;
}

/** One line for a human: the KomaError message, or a generic line for bugs. */
export function describeError(error: unknown): string {
  if (isKomaError(error)) return error.message;
  if (error instanceof Error) return `unexpected error: ${error.message}`;
  return `unexpected error: ${String(error)}`;
}

/** The first line of an error's message: native libraries (onnxruntime, sharp) append long details. */
export function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
