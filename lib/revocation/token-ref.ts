// Reading what the revocation rules need from the payload of a JWT minted by anyone (sub, sid/jti, iat).
import type { TokenRef } from './revocation-engine.js';
import { MAX_REVOCATION_LIFETIME_MS, MAX_TOKEN_LIFETIME_SECONDS } from '../core/limits.js';
import { hasLoneSurrogate, LONE_SURROGATE_PROBLEM } from '../core/ids.js';

export type TokenRefResult = { ok: true; ref: TokenRef; expMs: number } | { ok: false; problem: string };

/**
 * `sub` (required), the session id from `sid`, else `jti` (empty when neither: only `revokeUser` applies),
 * the issue time from `iat_ms` when present, else `iat` in whole seconds, the sign-in time from `sat` and the
 * claims time from `cla` when present (beside `iat_ms`: the claims of other tokens are as old as the token).
 * Refused: ids no store can keep, and tokens without `exp` or living longer than 400 days.
 */
export function readTokenRef(payload: unknown): TokenRefResult {
  if (typeof payload !== 'object' || payload === null) return { ok: false, problem: 'the token has no JSON payload' };
  const claims = payload as Record<string, unknown>;
  const { sub, sid, jti, iat, iat_ms: iatMs, sat, cla, exp } = claims;
  if (typeof sub !== 'string' || sub === '') return { ok: false, problem: 'the token has no `sub` claim' };
  const bySid = typeof sid === 'string' && sid !== '';
  const sessionId = bySid ? sid : typeof jti === 'string' ? jti : '';
  if (hasLoneSurrogate(sub)) return { ok: false, problem: `the token's \`sub\` ${LONE_SURROGATE_PROBLEM}` };
  if (hasLoneSurrogate(sessionId))
    return { ok: false, problem: `the token's \`${bySid ? 'sid' : 'jti'}\` ${LONE_SURROGATE_PROBLEM}` };
  let issuedAtMs: number;
  if (isTime(iatMs)) issuedAtMs = iatMs;
  else if (isTime(iat)) issuedAtMs = iat * 1000;
  else return { ok: false, problem: 'the token has no `iat` claim' };
  // No revocation is remembered longer than the longest token lifetime: a token that outlives it could come back.
  if (!isTime(exp)) return { ok: false, problem: 'the token has no `exp` claim: it never expires' };
  const expMs = exp * 1000;
  if (expMs - issuedAtMs > MAX_TOKEN_LIFETIME_SECONDS * 1000 || expMs > LATEST_DATE_MS)
    return { ok: false, problem: 'the token lives longer than 400 days (`exp` minus `iat`)' };
  const claimsAt = isTime(cla) && isTime(iatMs) ? { claimsAtMs: cla } : {};
  return { ok: true, ref: { sub, sessionId, issuedAtMs, ...signedIn(sat, iatMs), ...claimsAt }, expMs };
}

/**
 * A session's sign-in time (`sat` of createSessionAuth's tokens, which all carry `iat_ms`) is what a
 * logout-everywhere compares: a token renewed during the logout was issued after it, but its session signed in
 * before. A `sat` of another signer (without `iat_ms`, or in seconds: before any session this package keeps) is
 * not that, and is ignored.
 */
function signedIn(sat: unknown, iatMs: unknown): { signedInAtMs?: number } {
  if (!isTime(sat) || !isTime(iatMs) || sat < iatMs - MAX_REVOCATION_LIFETIME_MS) return {};
  return { signedInAtMs: sat };
}

/** The latest time a Date can hold. */
const LATEST_DATE_MS = 8.64e15;

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
