/**
 * Every way an image request can fail, each with a stable machine code and the HTTP status a CDN should see. Workers
 * (issue 5) catch the same class, so the codes are part of the public API: add new ones, never rename.
 */
export const MEDIA_ERRORS = {
  unsupported_format: 415,
  svg_refused: 415,
  gif_conversion_unsupported: 415,
  corrupt_image: 422,
  truncated_image: 422,
  decode_failed: 422,
  input_too_large: 413,
  too_many_pixels: 413,
  too_many_frames: 413,
  dimension_too_large: 413,
  emoji_too_large: 413,
  bad_request: 400,
  not_found: 404,
  content_expired: 404,
  rate_limited: 429,
  overloaded: 503,
  transform_timeout: 503,
  gifsicle_unavailable: 503,
  gifsicle_failed: 500,
} as const;

export type MediaErrorCode = keyof typeof MEDIA_ERRORS;

export class MediaError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'MediaError';
    this.statusCode = MEDIA_ERRORS[code];
  }
}

export function isMediaError(err: unknown): err is MediaError {
  return err instanceof MediaError;
}
