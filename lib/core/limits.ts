// The limits every part agrees on: the longest lifetimes and tolerances any instance sharing a store may use.

/** Longest token lifetime any instance may be configured with (`expiresIn`); browsers cap cookies at 400 days. */
export const MAX_TOKEN_LIFETIME_SECONDS = 400 * 86_400;
/** Largest `clockTolerance` any instance may be configured with. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
/**
 * How long a revocation must be remembered when nothing tells us the token's expiry: no token that any
 * instance sharing the store may accept outlives it, whatever their `expiresIn` and `clockTolerance`.
 */
export const MAX_REVOCATION_LIFETIME_MS = (MAX_TOKEN_LIFETIME_SECONDS + MAX_CLOCK_TOLERANCE_SECONDS) * 1000;

/** How long after its `exp` (or its session's end) a token may still be accepted somewhere: the largest tolerance. */
export const ACCEPTED_PAST_END_MS = MAX_CLOCK_TOLERANCE_SECONDS * 1000;

/**
 * Most live sessions of one user: `maxSessions` is at most this, and a sign-in past it ends the least recently
 * active session, so a user's registry stays bounded. Our stores refuse a registration past it (only sign-ins
 * at the very same moment get there) rather than forget a session that still works.
 */
export const MAX_SESSIONS_PER_USER = 1000;

/** Longest `maxRevocationDelay` accepted: a minute. */
export const MAX_REVOCATION_DELAY_MS = 60_000;
