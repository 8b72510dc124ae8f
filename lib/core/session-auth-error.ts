// The error class and the stable error codes every rejected request is answered with.

/** Every code this package answers with, and its HTTP status. A contract: apps and clients may rely on it. */
export const ERROR_STATUS = {
  /** No session: no cookie was sent, or a guard ran without one. */
  credentials_required: 401,
  /** Bad signature, malformed, wrong algorithm, issuer or audience. */
  invalid_token: 401,
  /** Past `exp` (plus `clockTolerance`), or a lifetime longer than allowed. */
  token_expired: 401,
  /** The claims fail the schema (ours or the `claims` option). */
  invalid_claims: 401,
  /** This device session was logged out. */
  session_revoked: 401,
  /** The session signed in at or before the user's `lastLogoutAt`. */
  logged_out_everywhere: 401,
  /** `requireFreshAuth`: the last password entry is older than allowed. */
  reauthentication_required: 401,
  /**
   * The user's claims changed (`refreshClaims`) after this token was signed, and it cannot be re-issued here:
   * `createRevocation`'s `check`, or `createSessionAuth` without `loadClaims`. Sign in (or refresh the token) again.
   */
  claims_stale: 401,
  /** The store errored or did not answer within `storeTimeoutMs` (failing closed). */
  revocation_unavailable: 503,
  /** `loadClaims` failed, answered claims the `claims` schema refuses, or did not answer within `storeTimeoutMs`. */
  claims_unavailable: 503,
  /** A cross-site request to `logout`, `logoutAll`, `revokeOtherSessions` or `verifyOrigin`. */
  csrf_rejected: 403,
  /** A logout route got more than 16 values of the session cookie; nothing was changed. */
  too_many_cookies: 400,
} as const;

/** The stable code of every rejected request (the keys of `ERROR_STATUS`). */
export type SessionAuthErrorCode = keyof typeof ERROR_STATUS;

const DEFAULT_MESSAGES: Record<SessionAuthErrorCode, string> = {
  credentials_required: 'No session cookie was sent. Sign in first.',
  invalid_token: 'The session token is malformed, has a bad signature or was not issued for this app.',
  token_expired: 'The session has expired. Sign in again.',
  invalid_claims: 'The session token does not carry the claims this app requires.',
  session_revoked: 'This session was logged out.',
  logged_out_everywhere: 'This session was ended by a "log out everywhere".',
  reauthentication_required: 'Enter your password again to continue.',
  claims_stale: "This session's permissions changed since it was signed. Sign in again.",
  revocation_unavailable: 'Session state cannot be checked right now. Try again shortly.',
  claims_unavailable: "This session's permissions cannot be loaded right now. Try again shortly.",
  csrf_rejected: 'Cross-site request rejected: the request did not come from this site.',
  too_many_cookies:
    "The request carries more session cookies than a browser sends: nothing was changed. Clear this site's cookies and sign in again.",
};

/** The JSON body of every error response: `{ "error": { "code", "message" } }`. Never holds a token. */
export interface SessionAuthErrorBody {
  /** The one member. */
  error: {
    /** The stable code. */
    code: SessionAuthErrorCode;
    /** A sentence for people; may change between versions. */
    message: string;
  };
}

/**
 * The one error class of this package. `code` is stable, `status` is the HTTP status to answer with, `cause`
 * keeps the underlying error (never sent to clients). Apps that prefer `next(err)` can test
 * `err instanceof SessionAuthError` in their error handler.
 */
export class SessionAuthError extends Error {
  /** Always `'SessionAuthError'`. */
  override readonly name = 'SessionAuthError';
  /** The stable code, e.g. `'session_revoked'`. */
  readonly code: SessionAuthErrorCode;
  /** The HTTP status to answer with (`ERROR_STATUS[code]`). */
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

/**
 * Narrowing helper that also works across two copies of the package (ESM and CJS loaded side by side).
 *
 * @example
 * ```ts
 * import type { NextFunction, Request, Response } from 'express';
 *
 * app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
 *   if (isSessionAuthError(err)) res.status(err.status).json(err);
 *   else next(err);
 * });
 * ```
 */
export function isSessionAuthError(value: unknown): value is SessionAuthError {
  return (
    value instanceof SessionAuthError ||
    (value instanceof Error &&
      value.name === 'SessionAuthError' &&
      typeof (value as SessionAuthError).code === 'string')
  );
}
