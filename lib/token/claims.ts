// The claims of a session token: which ones this package owns, reading a verified payload, checking login claims.
import { z } from 'zod';
import { argumentError } from '../errors/config-error.js';
import type { AuthInfo } from '../types.js';

/**
 * Claims this package owns. `iat_ms` is the issue time in milliseconds: `iat` alone is whole seconds, which
 * cannot tell a token minted just before a logout-everywhere from one minted just after it in the same second.
 */
export const RESERVED_CLAIMS = ['sub', 'sid', 'iat', 'iat_ms', 'exp', 'nbf', 'iss', 'aud', 'jti'] as const;

const sessionClaimsSchema = z.object({
  sub: z.string().min(1),
  sid: z.string().min(16).max(64),
  iat_ms: z.number().int().positive(),
  exp: z.number().int().positive(),
});

/** The session part of a verified token, as the revocation rules need it. */
export interface SessionClaims {
  sub: string;
  sessionId: string;
  issuedAtMs: number;
  expMs: number;
}

export type ParsedClaims<C> = ({ ok: true; auth: AuthInfo<C> } & SessionClaims) | { ok: false; cause: unknown };

/** The reserved claims among `names`, e.g. the keys of an app's claims schema. */
export function reservedAmong(names: readonly string[]): string[] {
  return names.filter((k) => (RESERVED_CLAIMS as readonly string[]).includes(k));
}

/** Reads only this package's session claims from a verified payload, whatever else it carries. */
export function readSessionClaims(payload: unknown): SessionClaims | undefined {
  const base = sessionClaimsSchema.safeParse(payload);
  if (!base.success) return undefined;
  const { sub, sid, iat_ms, exp } = base.data;
  return { sub, sessionId: sid, issuedAtMs: iat_ms, expMs: exp * 1000 };
}

/** Validates a verified payload: the session claims plus the app's extra claims schema. Never throws. */
export function createClaimsParser<C>(extraSchema: z.ZodType<C> | undefined) {
  return (payload: unknown): ParsedClaims<C> => {
    const base = sessionClaimsSchema.safeParse(payload);
    if (!base.success) return { ok: false, cause: base.error };
    let extra = {} as C;
    if (extraSchema !== undefined) {
      try {
        const parsed = extraSchema.safeParse(payload);
        if (!parsed.success) return { ok: false, cause: parsed.error };
        extra = parsed.data;
      } catch (cause) {
        // A refine or transform of the app's schema that throws: a bad token, never a crash.
        return { ok: false, cause };
      }
    }
    const { sub, sid, iat_ms, exp } = base.data;
    const auth = { ...extra, sub, sessionId: sid, issuedAt: new Date(iat_ms), expiresAt: new Date(exp * 1000) };
    return { ok: true, auth: auth, sub, sessionId: sid, issuedAtMs: iat_ms, expMs: exp * 1000 };
  };
}

/**
 * Returns `check(claims)` for `auth.login(res, claims)`: the user id and the extra claims to sign, as the app
 * gave them (only the schema's keys), not the parsed output: every request parses the token with the same
 * schema, so a transform must see its input there, not its own output.
 */
export function createLoginClaimsCheck(schema: z.ZodObject | undefined) {
  return (claims: unknown): { sub: string; extra: Record<string, unknown> } => {
    const { sub, ...extra } = (claims ?? {}) as { sub?: unknown } & Record<string, unknown>;
    if (typeof sub !== 'string' || sub === '') {
      throw argumentError(
        'claims.sub',
        `of auth.login(res, claims) must be a non-empty string user id (got ${typeof sub}); convert ids with String(user._id).`,
      );
    }
    const reserved = reservedAmong(Object.keys(extra));
    if (reserved.length > 0)
      throw argumentError('claims', `of auth.login cannot set ${reserved.join(', ')}; they are set by the package.`);
    if (schema === undefined) {
      if (Object.keys(extra).length === 0) return { sub, extra: {} };
      throw argumentError(
        'claims',
        `of auth.login has extra claims (${Object.keys(extra).join(', ')}) but createSessionAuth has no \`claims\` schema; add one, e.g. \`claims: z.object({ role: z.string() })\`.`,
      );
    }
    const parsed = schema.safeParse(extra);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw argumentError('claims', `of auth.login do not match the \`claims\` schema: ${issues}`);
    }
    const signed = Object.keys(schema.shape).filter((k) => k in extra);
    return { sub, extra: Object.fromEntries(signed.map((k) => [k, extra[k]])) };
  };
}
