// Reading what the revocation rules need from the payload of a JWT minted by anyone (sub, sid/jti, iat).
import type { TokenRef } from './revocation-engine.js';

export type TokenRefResult = { ok: true; ref: TokenRef; expMs: number | undefined } | { ok: false; problem: string };

/**
 * `sub` (required), the session id from `sid`, else `jti` (empty when neither: only `revokeUser` applies),
 * the issue time from `iat_ms` when present, else `iat` in whole seconds.
 */
export function readTokenRef(payload: unknown): TokenRefResult {
  if (typeof payload !== 'object' || payload === null) return { ok: false, problem: 'the token has no JSON payload' };
  const claims = payload as Record<string, unknown>;
  const { sub, sid, jti, iat, iat_ms: iatMs, exp } = claims;
  if (typeof sub !== 'string' || sub === '') return { ok: false, problem: 'the token has no `sub` claim' };
  const sessionId = typeof sid === 'string' && sid !== '' ? sid : typeof jti === 'string' ? jti : '';
  let issuedAtMs: number;
  if (isTime(iatMs)) issuedAtMs = iatMs;
  else if (isTime(iat)) issuedAtMs = iat * 1000;
  else return { ok: false, problem: 'the token has no `iat` claim' };
  return { ok: true, ref: { sub, sessionId, issuedAtMs }, expMs: isTime(exp) ? exp * 1000 : undefined };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
