// Public types of an authenticated request: what `req.auth` holds.

/** What every authenticated request carries, whatever the app's extra claims are. */
export interface SessionInfo {
  /** The user id the token was issued for (`sub`). */
  sub: string;
  /** This device session's id (`sid`); `auth.revokeSession(sessionId)` logs it out. */
  sessionId: string;
  /** When this token was issued (at sign-in, or at its latest renewal), to the millisecond. */
  issuedAt: Date;
  /** When the token (and its cookie) expires; a renewal moves it forward, never past `sessionExpiresAt`. */
  expiresAt: Date;
  /** When the user signed in to start this session; kept across renewals. */
  signedInAt: Date;
  /** When the user last entered their password in this session (sign-in or `auth.reauthenticate`). */
  authenticatedAt: Date;
  /** The absolute end of this session (`signedInAt + maxAge`): no renewal goes past it. */
  sessionExpiresAt: Date;
}

/** `req.auth`: the extra claims (validated by the `claims` schema) plus the session info. */
export type AuthInfo<Claims = Record<string, unknown>> = Omit<Claims, keyof SessionInfo> & SessionInfo;

/**
 * Declare your claims once to type `req.auth` everywhere:
 * `declare module 'express-revocable-jwt' { interface Register { claims: { role: 'user' | 'admin' } } }`
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface Register {}

export type RegisteredClaims = Register extends { claims: infer C } ? C : Record<string, unknown>;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `auth.authenticate` for a valid, unrevoked session cookie; undefined otherwise. */
      auth?: AuthInfo<RegisteredClaims>;
    }
  }
}
