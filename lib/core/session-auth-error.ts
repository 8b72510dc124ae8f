// The error class and the stable error codes every rejected request is answered with.

/** Every code this package answers with, and its HTTP status. A contract: apps and clients may rely on it. */
export const ERROR_STATUS = {
  credentials_required: 401,
  invalid_token: 401,
  token_expired: 401,
  invalid_claims: 401,
  session_revoked: 401,
  logged_out_everywhere: 401,
  reauthentication_required: 401,
  revocation_unavailable: 503,
  csrf_rejected: 403,
  too_many_cookies: 400,
} as const;

export type SessionAuthErrorCode = keyof typeof ERROR_STATUS;

const DEFAULT_MESSAGES: Record<SessionAuthErrorCode, string> = {
  credentials_required: 'No session cookie was sent. Sign in first.',
  invalid_token: 'The session token is malformed, has a bad signature or was not issued for this app.',
  token_expired: 'The session has expired. Sign in again.',
  invalid_claims: 'The session token does not carry the claims this app requires.',
  session_revoked: 'This session was logged out.',
  logged_out_everywhere: 'This session was ended by a "log out everywhere".',
  reauthentication_required: 'Enter your password again to continue.',
  revocation_unavailable: 'Session state cannot be checked right now. Try again shortly.',
  csrf_rejected: 'Cross-site request rejected: the request did not come from this site.',
  too_many_cookies:
    "The request carries more session cookies than a browser sends: nothing was changed. Clear this site's cookies and sign in again.",
};

/** The JSON body of every error response: `{ "error": { "code", "message" } }`. Never holds a token. */
export interface SessionAuthErrorBody {
  error: { code: SessionAuthErrorCode; message: string };
}

/**
 * The one error class of this package. `code` is stable, `status` is the HTTP status to answer with, `cause`
 * keeps the underlying error (never sent to clients). Apps that prefer `next(err)` can test
 * `err instanceof SessionAuthError` in their error handler.
 */
export class SessionAuthError extends Error {
  override readonly name = 'SessionAuthError';
  readonly code: SessionAuthErrorCode;
  readonly status: number;

  constructor(code: SessionAuthErrorCode, options?: { message?: string; cause?: unknown }) {
    super(
      options?.message ?? DEFAULT_MESSAGES[code],
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.status = ERROR_STATUS[code];
  }

  /** The response body; what `JSON.stringify(err)` gives. */
  toJSON(): SessionAuthErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Narrowing helper that also works across two copies of the package (ESM and CJS loaded side by side). */
export function isSessionAuthError(value: unknown): value is SessionAuthError {
  return (
    value instanceof SessionAuthError ||
    (value instanceof Error &&
      value.name === 'SessionAuthError' &&
      typeof (value as SessionAuthError).code === 'string')
  );
}
