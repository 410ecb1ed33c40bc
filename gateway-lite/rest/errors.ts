/**
 * Discord's JSON error body `{code, message, errors?}` and the codes this API answers with
 * (discord-api-docs `topics/opcodes-and-status-codes`). One table, so every route refuses alike.
 */
export const API_ERRORS = {
  GENERAL: { code: 0, status: 400, message: 'General error' },
  UNKNOWN_ROUTE: { code: 0, status: 404, message: '404: Not Found' },
  METHOD_NOT_ALLOWED: { code: 0, status: 405, message: '405: Method Not Allowed' },
  UNSUPPORTED_MEDIA_TYPE: { code: 0, status: 415, message: '415: Unsupported Media Type' },
  INTERNAL: { code: 0, status: 500, message: '500: Internal Server Error' },
  UNKNOWN_CHANNEL: { code: 10003, status: 404, message: 'Unknown Channel' },
  UNKNOWN_GUILD: { code: 10004, status: 404, message: 'Unknown Guild' },
  UNKNOWN_MEMBER: { code: 10007, status: 404, message: 'Unknown Member' },
  UNKNOWN_MESSAGE: { code: 10008, status: 404, message: 'Unknown Message' },
  UNKNOWN_USER: { code: 10013, status: 404, message: 'Unknown User' },
  UNKNOWN_VOICE_STATE: { code: 10065, status: 404, message: 'Unknown Voice State' },
  UNKNOWN_APPLICATION: { code: 10002, status: 404, message: 'Unknown Application' },
  UNKNOWN_WEBHOOK: { code: 10015, status: 404, message: 'Unknown Webhook' },
  UNKNOWN_INTERACTION: { code: 10062, status: 404, message: 'Unknown interaction' },
  UNKNOWN_COMMAND: { code: 10063, status: 404, message: 'Unknown application command' },
  BOTS_FORBIDDEN: { code: 20001, status: 403, message: 'Bots cannot use this endpoint' },
  TOO_MANY_COMMANDS: { code: 30032, status: 400, message: 'Maximum number of application commands reached' },
  ALREADY_ACKNOWLEDGED: { code: 40060, status: 400, message: 'Interaction has already been acknowledged.' },
  INVALID_WEBHOOK_TOKEN: { code: 50027, status: 401, message: 'Invalid Webhook Token' },
  UNAUTHORIZED: { code: 40001, status: 401, message: '401: Unauthorized' },
  TOO_LARGE: { code: 40005, status: 413, message: 'Request entity too large' },
  MISSING_ACCESS: { code: 50001, status: 403, message: 'Missing Access' },
  CANNOT_EDIT_OTHERS: { code: 50005, status: 403, message: 'Cannot edit a message authored by another user' },
  EMPTY_MESSAGE: { code: 50006, status: 400, message: 'Cannot send an empty message' },
  WRONG_CHANNEL_TYPE: { code: 50024, status: 400, message: 'Cannot execute action on this channel type' },
  MISSING_PERMISSIONS: { code: 50013, status: 403, message: 'Missing Permissions' },
  INVALID_FORM_BODY: { code: 50035, status: 400, message: 'Invalid Form Body' },
  INVALID_JSON: { code: 50109, status: 400, message: 'The request body contains invalid JSON.' },
  UPLOADS_UNAVAILABLE: { code: 50001, status: 403, message: 'Attachments are not enabled on this server' },
  STORAGE_UNAVAILABLE: { code: 130000, status: 503, message: 'API resource is currently overloaded. Try again later.' },
} as const;

export type ApiErrorName = keyof typeof API_ERRORS;

/** Discord's nested field errors: `{field: {_errors: [{code, message}]}}`, nested by path. */
export interface FieldErrors {
  [key: string]: FieldErrors | Array<{ code: string; message: string }>;
}

export class ApiError extends Error {
  readonly code: number;
  readonly status: number;

  constructor(
    readonly kind: ApiErrorName,
    message?: string,
    readonly errors?: FieldErrors,
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? API_ERRORS[kind].message);
    this.code = API_ERRORS[kind].code;
    this.status = API_ERRORS[kind].status;
  }

  body(): { code: number; message: string; errors?: FieldErrors } {
    return { code: this.code, message: this.message, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

/** A 50035 for one field path. */
export function formError(pathParts: Array<string | number>, code: string, message: string): ApiError {
  const errors: FieldErrors = {};
  let node = errors;
  for (const p of pathParts) node = (node[String(p)] ??= {}) as FieldErrors;
  node._errors = [{ code, message }];
  return new ApiError('INVALID_FORM_BODY', undefined, errors);
}
