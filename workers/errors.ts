import { UnrecoverableError } from 'bullmq';

/**
 * Stable failure codes. Input errors are final (retrying a corrupt file cannot help) and skip the retry budget;
 * everything else (timeouts, a killed child, Redis hiccups) is retried with exponential backoff.
 */
export const INPUT_ERROR_CODES = [
  'invalid_data',
  'path_not_allowed',
  'source_missing',
  'source_changed',
  'too_large',
  'invalid_image',
  'image_too_large',
  'unsupported_image',
  'not_wav',
  'unsupported_wav',
  'truncated_wav',
  'unsupported_channels',
  'too_long',
  'empty_audio',
  'bad_pcm',
] as const;
export type InputErrorCode = (typeof INPUT_ERROR_CODES)[number];
export type FailureCode = InputErrorCode | 'timeout' | 'crashed' | 'internal';

/** A rejected input. Its name stays "UnrecoverableError" because that is what survives the sandbox's JSON hop. */
export class JobInputError extends UnrecoverableError {
  constructor(
    readonly code: InputErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    Object.defineProperty(this, 'name', { value: 'UnrecoverableError', enumerable: true });
    Object.defineProperty(this, 'code', { value: code, enumerable: true });
  }
}

export class JobTimeoutError extends Error {
  readonly code = 'timeout';
  constructor(ms: number) {
    super(`timeout: the processor did not finish within ${ms} ms and its child process was killed`);
    this.name = 'JobTimeoutError';
  }
}

/** The stable code at the front of a failed reason ("invalid_image: …"), for metrics and the pack summary. */
export function failureCode(reason: string | undefined): FailureCode {
  const m = /^([a-z_]+):/.exec(reason ?? '');
  const code = m?.[1];
  if (code && ((INPUT_ERROR_CODES as readonly string[]).includes(code) || code === 'timeout'))
    return code as FailureCode;
  if (reason && /Unexpected exit code|signal: SIG/.test(reason)) return 'crashed';
  return 'internal';
}
