// The revocation rules: when a verified token is no longer accepted, and how long revocation state must live.
import { ACCEPTED_PAST_END_MS, MAX_CLOCK_TOLERANCE_SECONDS } from '../core/limits.js';
import type { RevocationState } from '../stores/revocation-store.js';

/** Why a verified token is no longer accepted, or undefined when it still is. */
export function revocationReason(
  state: RevocationState,
  issuedAtMs: number,
): 'session_revoked' | 'logged_out_everywhere' | undefined {
  if (state.sessionRevoked) return 'session_revoked';
  // Inclusive: a token minted in the same millisecond as the logout-everywhere is rejected. revokeUser only
  // returns once the clock has moved past its watermark, so a login after it always gets a later issue time.
  if (state.lastLogoutAt !== null && issuedAtMs <= state.lastLogoutAt.getTime()) return 'logged_out_everywhere';
  return undefined;
}

/**
 * Whether a token's extra claims, loaded at `claimsAtMs`, are older than the user's latest claims change
 * (`refreshClaims`): inclusive, as the watermark (`refreshClaims` only returns once the clock has moved past it).
 */
export function claimsOutdated(state: RevocationState, claimsAtMs: number): boolean {
  const changedAt = state.claimsChangedAt;
  return changedAt !== undefined && changedAt !== null && claimsAtMs <= changedAt.getTime();
}

/**
 * A time a token claims for its session (`sat`, `pwd`) as the rules may believe it: at most the largest clock
 * tolerance after the token's own issue time. Instances' clocks differ a little, so a small lead is normal;
 * a time far ahead (an odd signer) must not let a session survive a logout-everywhere or stay fresh for ever.
 */
export function notLongAfterIssue(timeMs: number, issuedAtMs: number): number {
  return Math.min(timeMs, issuedAtMs + MAX_CLOCK_TOLERANCE_SECONDS * 1000);
}

/**
 * When an entry about a token (or session) ending at `expMs` may be forgotten: a revoked-session entry, a
 * device-registry record. Past every instance's clock tolerance, so an instance that still accepts the token a
 * few seconds after its end also sees it revoked, and "log out other devices" still finds it.
 */
export function sessionEntryExpiry(expMs: number): Date {
  return new Date(expMs + ACCEPTED_PAST_END_MS);
}

/**
 * The time a token issued now may carry at the earliest, at the given precision: with whole-second `iat`,
 * a token issued in the same second as a watermark compares as issued at the start of that second.
 */
export function firstIssueTimeAfter(watermarkMs: number, precision: 'milliseconds' | 'seconds'): number {
  return precision === 'milliseconds' ? watermarkMs + 1 : (Math.floor(watermarkMs / 1000) + 1) * 1000;
}

/**
 * Resolves once `now()` reaches `targetMs`, so a token issued after this returns compares as later than the
 * watermark. Bounded by `maxWaitMs` of real (monotonic) time: when the wall clock steps backwards, waiting it
 * out could take arbitrarily long, and stopping early stays on the safe side (new logins are rejected for a
 * moment, never is an old token accepted).
 */
export async function waitForClock(targetMs: number, maxWaitMs: number, now: () => number = Date.now): Promise<void> {
  const giveUpAt = performance.now() + maxWaitMs;
  for (;;) {
    const remaining = Math.min(targetMs - now(), giveUpAt - performance.now());
    if (remaining <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(remaining))));
  }
}
