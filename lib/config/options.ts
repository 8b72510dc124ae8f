// The options of createSessionAuth, declared once: a zod schema whose fields carry the documentation users see
// (`SessionAuthOptions` extends its input type), and whose output is the resolved configuration.
import { KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { ALGORITHMS } from '../core/algorithms.js';
import { MAX_CLOCK_TOLERANCE_SECONDS, MAX_SESSIONS_PER_USER } from '../core/limits.js';
import type { SessionAuthError } from '../core/session-auth-error.js';
import { revocationDelayOption, secondsOption } from './duration.js';
import { loggerSchema } from './logger.js';
import type { SessionEvent } from './session-events.js';

/** RFC 6265 cookie-name characters. */
const COOKIE_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Normalizes a configured origin (`https://app.example.com`) for comparison; undefined if it is not one. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.origin === 'null' || url.pathname !== '/' || url.search !== '' || url.hash !== '' || value.endsWith('/'))
      return undefined;
    return url.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

const keyInput = z.custom<string | Buffer | KeyObject>(
  (v) => typeof v === 'string' || Buffer.isBuffer(v) || v instanceof KeyObject,
  { message: 'must be a string, a Buffer or a crypto.KeyObject' },
);

const keyringEntry = z
  .object({
    /** The key id put in the `kid` header of the tokens this key signs (1-64 characters). */
    kid: z.string().min(1).max(64),
    /** An HMAC secret, as `secret`. */
    secret: keyInput.optional(),
    /** A private key, as `privateKey`. */
    privateKey: keyInput.optional(),
    /** A public key, as `publicKey`. */
    publicKey: keyInput.optional(),
  })
  .strict();

const fn = <T>(signature: string) =>
  z.custom<T>((v) => typeof v === 'function', { message: `must be a function ${signature}` });

/** A function answering a request in place of the default response. */
const responder = fn<(req: Request, res: Response) => unknown>('(req, res)').optional();

/**
 * The default cookie name: a `__Host-` name whenever the cookie can have one (Secure, Path=/, no Domain), so a
 * sibling subdomain cannot plant a cookie the browser would send in its place; `__Secure-` when it has a path
 * or domain; plain `session` only for the insecure http://localhost setting.
 */
function defaultCookieName(c: { secure: boolean; path: string; domain?: string | undefined }): string {
  if (!c.secure) return 'session';
  return c.path === '/' && c.domain === undefined ? '__Host-session' : '__Secure-session';
}

const cookieSchema = z
  .object({
    /**
     * The cookie's name. Prefixes are checked (`__Host-` needs Secure, Path=/ and no Domain).
     * @defaultValue `__Host-session` when Secure, `__Secure-session` with a `path` or `domain`, else `session`
     */
    name: z
      .string()
      .regex(COOKIE_NAME_PATTERN, { message: "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)" })
      .optional(),
    /**
     * Send the cookie over HTTPS only. Set `false` only for http://localhost development.
     * @defaultValue `true`
     */
    secure: z.boolean().default(true),
    /**
     * The cookie's SameSite attribute; `'none'` needs `secure: true`.
     * @defaultValue `'lax'`
     */
    sameSite: z.enum(['strict', 'lax', 'none']).default('lax'),
    /**
     * The cookie's path.
     * @defaultValue `'/'`
     */
    path: z
      .string()
      .regex(/^\/[\x21-\x3a\x3c-\x7e]*$/, {
        message: 'must start with "/" and contain only printable characters, no ";" or spaces',
      })
      .default('/'),
    /**
     * The cookie's domain.
     * @defaultValue `undefined`: a host-only cookie, the safest
     */
    domain: z
      .string()
      .regex(/^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$/i, { message: 'must be a domain name such as "example.com"' })
      .optional(),
  })
  .strict()
  .transform((c) => ({ ...c, name: c.name ?? defaultCookieName(c) }))
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.sameSite === 'none' && !c.secure)
      issue(
        'sameSite',
        'is "none", which browsers accept only on Secure cookies: set `cookie.secure: true` or use "lax"',
      );
    if (c.name.startsWith('__Host-')) {
      if (!c.secure) issue('secure', 'must be true for a `__Host-` cookie name: browsers drop the cookie otherwise');
      if (c.path !== '/') issue('path', 'must be "/" for a `__Host-` cookie name');
      if (c.domain !== undefined) issue('domain', 'must not be set for a `__Host-` cookie name: leave it out');
    } else if (c.name.startsWith('__Secure-') && !c.secure) {
      issue('secure', 'must be true for a `__Secure-` cookie name');
    }
  });

/** What `createSessionAuth` and `createRevocation` share: how the revocation engine uses the store. */
const engineOptions = {
  /**
   * Milliseconds to wait for the store before failing closed (503 `revocation_unavailable`).
   * @defaultValue `2000`
   */
  storeTimeoutMs: z.number().int().positive().max(60_000).default(2000),
  /**
   * DANGEROUS: accept tokens without a revocation check while the store is down (logged at startup).
   * @defaultValue `false`
   */
  failOpen: z.boolean().default(false),
  /**
   * Opt-in bounded delay, on a store with a change feed: each instance answers checks from a copy of every
   * revocation read at most this long ago (milliseconds, or a duration such as `'100ms'` or `'1s'`; at most
   * `'60s'`). Revocations made through the instance are in it at once, other instances' within the delay.
   * @defaultValue `0`: every check reads the store (exact)
   */
  maxRevocationDelay: revocationDelayOption,
  /**
   * With `maxRevocationDelay`: most revocations (watermarks, revoked sessions and claims changes) the copy holds,
   * about 40 bytes each. Past it, every check of the instance reads the store (exact) and a warning says so, until
   * the revocations that still matter fit again.
   * @defaultValue `2_000_000`
   */
  revocationCopyLimit: z.number().int().positive().max(100_000_000).default(2_000_000),
  /**
   * Answers a rejected request (redirect to a sign-in page, or `next(err)`); may be async.
   * @defaultValue the JSON error response (`sendErrorJson`)
   */
  onError:
    fn<(error: SessionAuthError, req: Request, res: Response, next: NextFunction) => unknown>(
      '(error, req, res, next)',
    ).optional(),
  /**
   * Where warnings go (store outages, fail-open use, and those of a store created without a logger of its
   * own). Never receives tokens or secrets.
   * @defaultValue `console`
   */
  logger: loggerSchema.default(console),
};

export const sessionAuthOptionsSchema = z
  .object({
    /**
     * HMAC shared secret (a string, Buffer or secret KeyObject): at least 32 bytes for HS256, 48 for HS384, 64 for
     * HS512. Or use `privateKey`/`publicKey`, or `keys`.
     */
    secret: keyInput.optional(),
    /** PEM or KeyObject private key, for RS/PS/ES signatures (RSA keys of at least 2048 bits). */
    privateKey: keyInput.optional(),
    /** PEM or KeyObject public key; derived from `privateKey` when left out. Alone: a verify-only instance. */
    publicKey: keyInput.optional(),
    /**
     * The one algorithm accepted (pinned). EdDSA is refused: jsonwebtoken, which express-jwt uses, cannot verify it.
     * @defaultValue `'HS256'` with `secret`, else inferred from the key type
     */
    algorithm: z.enum([...ALGORITHMS, 'EdDSA']).optional(),
    /** Where revocation state lives: `MemoryRevocationStore`, `MongoRevocationStore`, `RedisRevocationStore`, or your own. */
    store: z.unknown().optional(),
    /**
     * A token's lifetime, and so the idle timeout: a session unused for this long ends. Seconds, or a duration
     * (see "Durations" in the README); at most `'400d'`.
     * @defaultValue `'1h'`
     */
    expiresIn: z.union([z.number(), z.string()]).default('1h').pipe(secondsOption),
    /**
     * A valid token older than this is re-issued on its next request; `false`: never.
     * @defaultValue half of `expiresIn`
     */
    renewAfter: z.union([z.literal(false), secondsOption]).optional(),
    /**
     * The absolute session lifetime from sign-in: no renewal goes past it. At least `expiresIn`.
     * @defaultValue `'7d'`, or `expiresIn` when that is longer
     */
    maxAge: secondsOption.optional(),
    /**
     * Most live sessions per user (1 to 1000): a sign-in past it first ends the least recently active ones. Needs a
     * store with a device registry.
     * @defaultValue `1000` on a store with a device registry, none without one
     */
    maxSessions: z.number().int().positive().max(MAX_SESSIONS_PER_USER).optional(),
    /**
     * Rotating keys instead of `secret`/`privateKey`/`publicKey`: every key has a `kid`; the first signs, every one
     * verifies the tokens carrying its `kid`.
     */
    keys: z.array(keyringEntry).min(1).optional(),
    /** While moving from `secret` (or a key pair) to `keys`: the `kid` of the key that verifies tokens without one. */
    keyForTokensWithoutKid: z.string().min(1).max(64).optional(),
    /**
     * The session cookie.
     * @defaultValue `{ name: '__Host-session', secure: true, sameSite: 'lax', path: '/' }`
     */
    cookie: cookieSchema.default({
      name: '__Host-session',
      secure: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
    }),
    /** A zod object of extra claims: validated at sign-in and on every request, typed by `auth.sessionOf(req)`. */
    claims: z
      .custom<z.ZodObject>((v) => v instanceof z.ZodObject, {
        message: 'must be a zod object schema, e.g. `z.object({ role: z.string() })`',
      })
      .optional(),
    /** The `iss` claim to set and require. */
    issuer: z.string().min(1).optional(),
    /** The `aud` claim to set and require. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /**
     * Seconds of clock skew accepted on `exp` and `nbf` (0 to 300); never on the logout watermark.
     * @defaultValue `0`
     */
    clockTolerance: z.number().int().min(0).max(MAX_CLOCK_TOLERANCE_SECONDS).default(0),
    /**
     * Other origins allowed to POST to the logout routes and `verifyOrigin`, e.g. `['https://app.example.com']`.
     * @defaultValue `[]`
     */
    trustedOrigins: z
      .array(
        z.string().refine((o) => normalizeOrigin(o) !== undefined, {
          message:
            'must be an origin such as "https://app.example.com" (scheme, host, optional port; no path or trailing slash)',
        }),
      )
      .default([]),
    /**
     * Answers a successful `logout` (e.g. `res.redirect(303, '/login')`); may be async.
     * @defaultValue `res.sendStatus(204)`
     */
    onLogout: responder,
    /**
     * Answers a successful `logoutAll`; may be async.
     * @defaultValue `res.sendStatus(204)`
     */
    onLogoutAll: responder,
    /**
     * Answers a successful `revokeOtherSessions`; may be async.
     * @defaultValue `res.sendStatus(204)`
     */
    onRevokeOthers: responder,
    /**
     * Claims that follow the user: `loadClaims(sub)` answers the user's extra claims now (as `auth.login` takes
     * them, without `sub`), or `null` to end every session of the user (a ban). After `auth.refreshClaims(sub)`,
     * each token of the user signed before it is re-issued with these claims on its next request, on every
     * instance, before the route sees them; up-to-date tokens never call it. May be async; failing or slower than
     * `storeTimeoutMs` answers 503 `claims_unavailable`, as do claims the `claims` schema refuses. Needs a store
     * that records claims changes.
     * @example
     * ```ts
     * import { z } from 'zod';
     *
     * const auth = createSessionAuth({
     *   secret,
     *   store,
     *   claims: z.object({ role: z.string() }),
     *   loadClaims: async (sub) => {
     *     const user = await users.findOne({ _id: sub });
     *     return user === null || user.banned ? null : { role: user.role };
     *   },
     * });
     * ```
     * @defaultValue `undefined`: a token signed before its user's claims changed is refused with 401 `claims_stale`
     */
    loadClaims:
      fn<(sub: string) => Record<string, unknown> | null | Promise<Record<string, unknown> | null>>(
        '(sub) => claims | null',
      ).optional(),
    /**
     * Session events for an audit trail: sign-ins, renewals, claims refreshes, logouts, sessions ended, revoked
     * tokens presented again, store outages. Called after the request's work, never awaited; a throw or a
     * rejection is logged once. Events never hold tokens or secrets.
     * @defaultValue `undefined`: no events
     */
    onEvent: fn<(event: SessionEvent) => unknown>('(event)').optional(),
    /**
     * TESTS ONLY: the clock, in ms since the epoch. Signing, verification, renewal, freshness and revocation times
     * all read it, so a test can move time without touching `Date`.
     * @defaultValue `Date.now`
     */
    now: fn<() => number>('() => number').optional(),
    ...engineOptions,
  })
  .strict();

export type ResolvedSessionAuthOptions = z.output<typeof sessionAuthOptionsSchema>;

export const revocationOptionsSchema = z
  .object({
    /** Where revocation state lives: `MemoryRevocationStore`, `MongoRevocationStore`, `RedisRevocationStore`, or your own. */
    store: z.unknown().optional(),
    /**
     * How precise the issue times of your tokens are. `'seconds'` (jsonwebtoken's `iat`) makes `revokeUser` wait for
     * the next whole second before it returns, so a token signed after it is accepted; `'milliseconds'` when every
     * token carries `iat_ms` (then `revokeUser` returns within a millisecond).
     * @defaultValue `'seconds'`
     */
    issuedAtPrecision: z.enum(['seconds', 'milliseconds']).default('seconds'),
    ...engineOptions,
  })
  .strict();
