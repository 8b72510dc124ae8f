// The claims of a session token: which ones this package owns, reading a verified payload, checking login claims.
import { z } from 'zod';
import { argumentError, ConfigError } from '../core/config-error.js';
import type { AuthInfo } from '../core/session-info.js';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../core/limits.js';
import { hasLoneSurrogate, LONE_SURROGATE_PROBLEM } from '../core/ids.js';

/**
 * Claims this package owns. Times of our own are milliseconds: `iat` alone is whole seconds, which cannot tell
 * a token minted just before a logout-everywhere from one minted just after it in the same second.
 * - `sid`: the device session; `iat_ms`: this token's issue time;
 * - `sat`: the session's sign-in time (kept across renewals: the logout-everywhere watermark compares it);
 * - `sxp`: the session's absolute end (no renewal goes past it; revocations of the session last until it);
 * - `pwd`: the last password entry (sign-in or `reauthenticate`), for `requireFreshAuth`;
 * - `cla`: when the extra claims were loaded (sign-in, or a reload after `refreshClaims`; kept across renewals):
 *   a token whose `cla` is at or before the user's claims change is re-issued with `loadClaims`.
 */
export const RESERVED_CLAIMS = [
  'sub',
  'sid',
  'iat',
  'iat_ms',
  'sat',
  'sxp',
  'pwd',
  'cla',
  'exp',
  'nbf',
  'iss',
  'aud',
  'jti',
] as const;

const msTime = z.number().int().positive();
const storableId = (schema: z.ZodString) =>
  schema.refine((id) => !hasLoneSurrogate(id), { message: LONE_SURROGATE_PROBLEM });
const sessionClaimsSchema = z.object({
  sub: storableId(z.string().min(1)),
  sid: storableId(z.string().min(16).max(64)),
  iat_ms: msTime,
  exp: z.number().int().positive(),
  // Absent from tokens of version 0.1, which never renewed: the token's own times stand in for them.
  sat: msTime.optional(),
  sxp: msTime.optional(),
  pwd: msTime.optional(),
  // Absent from tokens of versions before claims refresh: their claims are as old as the session.
  cla: msTime.optional(),
});

/** The session part of a verified token, as the revocation rules and renewal need it. */
export interface SessionClaims {
  sub: string;
  sessionId: string;
  issuedAtMs: number;
  expMs: number;
  signedInAtMs: number;
  sessionExpMs: number;
  authenticatedAtMs: number;
  /** When the extra claims were loaded (`cla`, else the sign-in time). */
  claimsAtMs: number;
}

export type ParsedClaims<C> =
  ({ ok: true; auth: AuthInfo<C>; extra: Record<string, unknown> } & SessionClaims) | { ok: false; cause: unknown };

/** The reserved claims among `names`, e.g. the keys of an app's claims schema. */
export function reservedAmong(names: readonly string[]): string[] {
  return names.filter((k) => (RESERVED_CLAIMS as readonly string[]).includes(k));
}

/** Longest session any token may claim (`sxp` − `sat`): the cap of `maxAge`, 400 days. */
const MAX_SESSION_MS = MAX_TOKEN_LIFETIME_SECONDS * 1000;

/**
 * The session times as signed, with the session's end capped: no more than 400 days after sign-in, never
 * before this token expires. (Where a `sat` or `pwd` after `iat_ms` matters, the rules believe it at most
 * 300 s ahead: `notLongAfterIssue` in `revocation/rules.ts`. They are kept as signed, so that renewals by
 * instances whose clocks differ a little carry them unchanged.)
 */
function toSessionClaims(data: z.infer<typeof sessionClaimsSchema>): SessionClaims {
  const expMs = data.exp * 1000;
  const signedInAtMs = data.sat ?? data.iat_ms;
  return {
    sub: data.sub,
    sessionId: data.sid,
    issuedAtMs: data.iat_ms,
    expMs,
    signedInAtMs,
    sessionExpMs: Math.max(Math.min(data.sxp ?? expMs, signedInAtMs + MAX_SESSION_MS), expMs),
    authenticatedAtMs: data.pwd ?? signedInAtMs,
    claimsAtMs: data.cla ?? signedInAtMs,
  };
}

type BaseClaims = z.infer<typeof sessionClaimsSchema>;
type BaseParse = { success: true; data: BaseClaims } | { success: false; error: unknown };

const isMsTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isOptionalMsTime = (v: unknown) => v === undefined || isMsTime(v);

/**
 * `sessionClaimsSchema.safeParse`, with a fast path for the common case: a payload that plainly satisfies the
 * schema is read directly (the same data zod would return); anything else goes through zod, which decides and
 * names the problem. The fast path never accepts what zod would refuse: it is stricter where they could differ.
 */
function parseBase(payload: unknown): BaseParse {
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) {
    const p = payload as Record<string, unknown>;
    const { sub, sid, iat_ms, exp, sat, sxp, pwd, cla } = p;
    if (
      typeof sub === 'string' &&
      sub.length >= 1 &&
      !hasLoneSurrogate(sub) &&
      typeof sid === 'string' &&
      sid.length >= 16 &&
      sid.length <= 64 &&
      !hasLoneSurrogate(sid) &&
      isMsTime(iat_ms) &&
      isMsTime(exp) &&
      isOptionalMsTime(sat) &&
      isOptionalMsTime(sxp) &&
      isOptionalMsTime(pwd) &&
      isOptionalMsTime(cla)
    ) {
      const data: BaseClaims = { sub, sid, iat_ms, exp };
      if (sat !== undefined) data.sat = sat;
      if (sxp !== undefined) data.sxp = sxp;
      if (pwd !== undefined) data.pwd = pwd;
      if (cla !== undefined) data.cla = cla;
      return { success: true, data };
    }
  }
  return sessionClaimsSchema.safeParse(payload);
}

/** Reads only this package's session claims from a verified payload, whatever else it carries. */
export function readSessionClaims(payload: unknown): SessionClaims | undefined {
  const base = parseBase(payload);
  return base.success ? toSessionClaims(base.data) : undefined;
}

/** A request's session: the extra claims plus the session info. */
function toAuthInfo<C>(extra: C, claims: SessionClaims): AuthInfo<C> {
  return {
    ...extra,
    sub: claims.sub,
    sessionId: claims.sessionId,
    issuedAt: new Date(claims.issuedAtMs),
    expiresAt: new Date(claims.expMs),
    signedInAt: new Date(claims.signedInAtMs),
    authenticatedAt: new Date(claims.authenticatedAtMs),
    sessionExpiresAt: new Date(claims.sessionExpMs),
  };
}

/**
 * Validates a verified payload: the session claims plus the app's extra claims schema. Never throws. `extra`
 * is what a renewal signs again: the schema's keys as they are in the token (its input, not its output).
 */
export function createClaimsParser<C>(extraSchema: z.ZodObject | undefined) {
  const extraKeys = Object.keys(extraSchema?.shape ?? {});
  return (payload: unknown): ParsedClaims<C> => {
    const base = parseBase(payload);
    if (!base.success) return { ok: false, cause: base.error };
    let parsedExtra = {} as C;
    if (extraSchema !== undefined) {
      try {
        const parsed = extraSchema.safeParse(payload);
        if (!parsed.success) return { ok: false, cause: parsed.error };
        parsedExtra = parsed.data as C;
      } catch (cause) {
        // A refine or transform of the app's schema that throws: a bad token, never a crash.
        return { ok: false, cause };
      }
    }
    const claims = toSessionClaims(base.data);
    const raw = payload as Record<string, unknown>;
    const extra: Record<string, unknown> = {};
    for (const k of extraKeys) if (k in raw) extra[k] = raw[k];
    return { ok: true, auth: toAuthInfo(parsedExtra, claims), extra, ...claims };
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
    if (hasLoneSurrogate(sub))
      throw argumentError('claims.sub', `of auth.login(res, claims) ${LONE_SURROGATE_PROBLEM}.`);
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
    let parsed: ReturnType<typeof schema.safeParse>;
    try {
      parsed = schema.safeParse(extra);
    } catch (cause) {
      // An async refinement or transform the startup check could not see (a plain function returning a Promise).
      if (cause instanceof z.core.$ZodAsyncError) throw asyncClaimsError('', cause);
      throw cause;
    }
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw argumentError('claims', `of auth.login do not match the \`claims\` schema: ${issues}`);
    }
    const signed = Object.keys(schema.shape).filter((k) => k in extra);
    return { sub, extra: Object.fromEntries(signed.map((k) => [k, extra[k]])) };
  };
}

/**
 * Where the claims schema checks or transforms asynchronously (the path of the first such part), or undefined.
 * Claims are checked on every request, synchronously; zod throws on an async part only when a value reaches it,
 * so this looks for `async` functions in the schema itself, at startup. (A plain function that returns a
 * Promise cannot be seen before it runs: `auth.login` then refuses with the same error.)
 */
export function asyncPartOf(schema: z.ZodType, path = '', seen = new Set<unknown>()): string | undefined {
  if (seen.has(schema)) return undefined;
  seen.add(schema);
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  const isAsync = (fn: unknown) => typeof fn === 'function' && fn.constructor.name === 'AsyncFunction';
  if (isAsync(def.transform) || isAsync(def.fn)) return path;
  for (const check of (def.checks as { _zod: { def: { fn?: unknown } } }[] | undefined) ?? []) {
    if (isAsync(check._zod.def.fn)) return path;
  }
  const children: [string, unknown][] = [];
  if (typeof def.shape === 'object' && def.shape !== null) {
    for (const [key, child] of Object.entries(def.shape)) children.push([path === '' ? key : `${path}.${key}`, child]);
  }
  for (const key of ['innerType', 'in', 'out', 'element', 'left', 'right', 'keyType', 'valueType', 'catchall', 'rest'])
    if (def[key] !== undefined) children.push([path, def[key]]);
  if (typeof def.getter === 'function') children.push([path, (def.getter as () => unknown)()]); // z.lazy
  for (const key of ['options', 'items'])
    if (Array.isArray(def[key])) for (const child of def[key] as unknown[]) children.push([path, child]);
  for (const [childPath, child] of children) {
    if (!(child instanceof z.ZodType)) continue;
    const found = asyncPartOf(child, childPath, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The ConfigError for a claims schema with an async part (`path`, empty when unknown). */
export function asyncClaimsError(path: string, cause?: unknown): ConfigError {
  const where = path === '' ? '' : ` (at \`${path}\`)`;
  return new ConfigError(
    'claims',
    `has an async refinement or transform${where}: claims are checked on every request, synchronously. Make the schema synchronous, and check asynchronous things (a database lookup) in your login route before \`auth.login\`.`,
    cause === undefined ? undefined : { cause },
  );
}
