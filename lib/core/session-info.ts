// Public types of an authenticated request: what `auth.sessionOf(req)` returns.

/** What every authenticated request carries, whatever the app's extra claims are. */
export interface SessionInfo {
  /** The user id the token was issued for (`sub`). */
  sub: string;
  /** This device session's id (`sid`); `auth.revokeSession(sessionId, { sub })` logs it out. */
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

/** A request's session: the extra claims (validated by the `claims` schema) plus the session info. */
export type AuthInfo<Claims = Record<string, unknown>> = Omit<Claims, keyof SessionInfo> & SessionInfo;
