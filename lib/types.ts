// Public types of an authenticated request: what `req.auth` holds.

/** What every authenticated request carries, whatever the app's extra claims are. */
export interface SessionInfo {
  /** The user id the token was issued for (`sub`). */
  sub: string;
  /** This device session's id (`sid`); `auth.revokeSession(sessionId)` logs it out. */
  sessionId: string;
  /** When this session signed in, to the millisecond. */
  issuedAt: Date;
  /** When the token (and its cookie) expires. */
  expiresAt: Date;
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
