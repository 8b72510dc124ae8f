// The options of createSessionAuth, defined once as a zod schema: the public type and the resolved config.
import { KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { SessionAuthError } from '../errors/session-auth-error.js';
import { COOKIE_NAME_PATTERN } from '../http/cookie.js';
import { normalizeOrigin } from '../http/csrf.js';
import { revocationDelaySchema } from '../revocation/revocation-cache.js';
import { MAX_CLOCK_TOLERANCE_SECONDS, MAX_TOKEN_LIFETIME_SECONDS } from '../revocation/rules.js';
import { MAX_SESSIONS_PER_USER, type RevocationStore } from '../stores/revocation-store.js';
import { ALGORITHMS, type Algorithm, type KeyInput } from '../token/keys.js';
import { parseDurationSeconds } from './duration.js';
import { loggerSchema, type Logger } from './logger.js';

const keyInput = z.custom<string | Buffer | KeyObject>(
  (v) => typeof v === 'string' || Buffer.isBuffer(v) || v instanceof KeyObject,
  { message: 'must be a string, a Buffer or a crypto.KeyObject' },
);

/** Seconds, from a number of seconds or a duration string, at most 400 days (browsers cap cookies there). */
const durationValue = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined || seconds > MAX_TOKEN_LIFETIME_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be a positive whole number of seconds or a duration such as "15m", "12h" or "7d", at most "400d" (browsers cap cookies at 400 days)',
    });
    return z.NEVER;
  }
  return seconds;
});
const duration = (fallback: string) => z.union([z.number(), z.string()]).default(fallback).pipe(durationValue);

const keyringEntry = z
  .object({
    /** The key id put in the `kid` header of the tokens this key signs. */
    kid: z.string().min(1).max(64),
    secret: keyInput.optional(),
    privateKey: keyInput.optional(),
    publicKey: keyInput.optional(),
  })
  .strict();

const fn = <T>(signature: string) =>
  z.custom<T>((v) => typeof v === 'function', { message: `must be a function ${signature}` });

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
    /** Cookie name. Defaults to `__Host-session` when Secure (`session` otherwise); see `defaultCookieName`. */
    name: z
      .string()
      .regex(COOKIE_NAME_PATTERN, { message: "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)" })
      .optional(),
    /** Send only over HTTPS. Defaults to `true`; set `false` only for http://localhost development. */
    secure: z.boolean().default(true),
    /** Defaults to `lax`. `none` needs `secure: true`. */
    sameSite: z.enum(['strict', 'lax', 'none']).default('lax'),
    /** Defaults to `/`. */
    path: z
      .string()
      .regex(/^\/[\x21-\x3a\x3c-\x7e]*$/, {
        message: 'must start with "/" and contain only printable characters, no ";" or spaces',
      })
      .default('/'),
    /** Defaults to none (host-only cookie, the safest). */
    domain: z
      .string()
      .regex(/^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$/i, { message: 'must be a domain name such as "example.com"' })
      .optional(),
  })
  .strict()
  .transform((c) => ({ ...c, name: c.name ?? defaultCookieName(c) }))
  .superRefine((c, ctx) => {
    if (c.sameSite === 'none' && !c.secure) {
      ctx.addIssue({
        code: 'custom',
        path: ['sameSite'],
        message: 'is "none", which browsers accept only on Secure cookies: set `cookie.secure: true` or use "lax"',
      });
    }
    if (c.name.startsWith('__Host-')) {
      if (!c.secure)
        ctx.addIssue({
          code: 'custom',
          path: ['secure'],
          message: 'must be true for a `__Host-` cookie name: browsers drop the cookie otherwise',
        });
      if (c.path !== '/')
        ctx.addIssue({ code: 'custom', path: ['path'], message: 'must be "/" for a `__Host-` cookie name' });
      if (c.domain !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['domain'],
          message: 'must not be set for a `__Host-` cookie name: leave it out',
        });
    } else if (c.name.startsWith('__Secure-') && !c.secure) {
      ctx.addIssue({ code: 'custom', path: ['secure'], message: 'must be true for a `__Secure-` cookie name' });
    }
  });

export const sessionAuthOptionsSchema = z
  .object({
    /** HS256 shared secret, at least 32 bytes. Or use `privateKey`/`publicKey`. */
    secret: keyInput.optional(),
    /** PEM or KeyObject private key for RS256/PS256/ES256 (signing). */
    privateKey: keyInput.optional(),
    /** PEM or KeyObject public key (verification); derived from `privateKey` when left out. */
    publicKey: keyInput.optional(),
    /** The one algorithm accepted. Defaults to HS256 with `secret`, else inferred from the key type. */
    algorithm: z.enum([...ALGORITHMS, 'EdDSA']).optional(),
    /** Where revocation state lives. Required. */
    store: z.custom<RevocationStore>(() => true).optional(),
    /** Token and cookie lifetime: seconds, or a duration like "15m", "12h", "7d". Defaults to "1h". */
    expiresIn: duration('1h'),
    /** Re-issue a valid token older than this on its next request; `false`: never. Defaults to half of `expiresIn`. */
    renewAfter: z.union([z.literal(false), durationValue]).optional(),
    /** Absolute session lifetime from sign-in: no renewal goes past it. Defaults to "7d" (at least `expiresIn`). */
    maxAge: durationValue.optional(),
    /** Most live sessions per user; a sign-in past it ends the least recently active ones. Defaults to 1000. */
    maxSessions: z.number().int().positive().max(MAX_SESSIONS_PER_USER).optional(),
    /** Rotating keys: `[{ kid, secret }]` or `[{ kid, privateKey }]`; the first signs. Instead of `secret`/keys. */
    keys: z.array(keyringEntry).min(1).optional(),
    cookie: cookieSchema.default({
      name: '__Host-session',
      secure: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
    }),
    /** A zod object of extra claims: validated on login and on every request, typed on `req.auth`. */
    claims: z
      .custom<z.ZodObject>((v) => v instanceof z.ZodObject, {
        message: 'must be a zod object schema, e.g. `z.object({ role: z.string() })`',
      })
      .optional(),
    /** `iss` claim to set and require. */
    issuer: z.string().min(1).optional(),
    /** `aud` claim to set and require. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Seconds of clock skew accepted on `exp`/`nbf`. Defaults to 0. */
    clockTolerance: z.number().int().min(0).max(MAX_CLOCK_TOLERANCE_SECONDS).default(0),
    /** Milliseconds to wait for the store before failing closed (503). Defaults to 2000. */
    storeTimeoutMs: z.number().int().positive().max(60_000).default(2000),
    /** DANGEROUS: accept tokens without a revocation check while the store is down. Defaults to false. */
    failOpen: z.boolean().default(false),
    /** Opt-in: answer checks from revocation state read at most this long ago (ms or "100ms"). Defaults to 0: exact. */
    maxRevocationDelay: revocationDelaySchema,
    /** Other origins allowed to POST to logout routes, e.g. `["https://app.example.com"]`. Defaults to none. */
    trustedOrigins: z
      .array(
        z.string().refine((o) => normalizeOrigin(o) !== undefined, {
          message:
            'must be an origin such as "https://app.example.com" (scheme, host, optional port; no path or trailing slash)',
        }),
      )
      .default([]),
    /** Answers a rejected request. Defaults to the JSON error response (`sendErrorJson`). */
    onError:
      fn<(error: SessionAuthError, req: Request, res: Response, next: NextFunction) => unknown>(
        '(error, req, res, next)',
      ).optional(),
    /** Answers a successful logout. Defaults to 204 No Content. */
    onLogout: fn<(req: Request, res: Response) => unknown>('(req, res)').optional(),
    /** Answers a successful `revokeOtherSessions`. Defaults to 204 No Content. */
    onRevokeOthers: fn<(req: Request, res: Response) => unknown>('(req, res)').optional(),
    /** Answers a successful logout-everywhere. Defaults to 204 No Content. */
    onLogoutAll: fn<(req: Request, res: Response) => unknown>('(req, res)').optional(),
    /** Where warnings go (store outages, fail-open use). Defaults to `console`. Never receives tokens. */
    logger: loggerSchema.default(console),
    /** TESTS ONLY: the clock in ms (`() => number`). Defaults to `Date.now`. */
    now: fn<() => number>('() => number').optional(),
  })
  .strict();

/** The options of `createSessionAuth`; `C` is the zod schema of the extra claims. Checked against the schema. */
export interface SessionAuthOptions<C extends z.ZodObject = z.ZodObject<Record<never, never>>> {
  /** HS256/384/512 shared secret, at least 32 bytes (a string, Buffer or secret KeyObject). Or use a key pair. */
  secret?: KeyInput;
  /** PEM or KeyObject private key for RS/PS/ES signatures. */
  privateKey?: KeyInput;
  /** PEM or KeyObject public key; derived from `privateKey` when left out. Alone: a verify-only instance. */
  publicKey?: KeyInput;
  /** The one algorithm accepted. Defaults to HS256 with `secret`, else inferred from the key type. */
  algorithm?: Algorithm | 'EdDSA';
  /** Rotating keys instead of `secret`/`privateKey`/`publicKey`: every key has a `kid`; the first signs. */
  keys?: { kid: string; secret?: KeyInput; privateKey?: KeyInput; publicKey?: KeyInput }[];
  /** Where revocation state lives: `MemoryRevocationStore`, `MongoRevocationStore` or your own. Required. */
  store: RevocationStore;
  /**
   * A token's lifetime, and so the idle timeout: a session unused for this long ends. Seconds, or a duration
   * like "15m", "12h", "7d"; at most "400d". Defaults to "1h".
   */
  expiresIn?: number | string;
  /** A valid token older than this is re-issued on its next request; `false`: never. Defaults to half of `expiresIn`. */
  renewAfter?: number | string | false;
  /** Absolute session lifetime from sign-in; no renewal goes past it. At least `expiresIn`. Defaults to "7d". */
  maxAge?: number | string;
  /**
   * Cap of live sessions per user, at most 1000: a sign-in past it ends the least recently active ones. Needs a
   * store with a device registry. Defaults to 1000 on such a store (none without one).
   */
  maxSessions?: number;
  /** The session cookie. Defaults to `{ name: '__Host-session', secure: true, sameSite: 'lax', path: '/' }`. */
  cookie?: {
    /** Defaults to `__Host-session` (`__Secure-session` with a path or domain; `session` when not Secure). */
    name?: string;
    /** Send only over HTTPS. Defaults to `true`; set `false` only for http://localhost development. */
    secure?: boolean;
    /** Defaults to `lax`. `none` needs `secure: true`. */
    sameSite?: 'strict' | 'lax' | 'none';
    /** Defaults to `/`. */
    path?: string;
    /** Defaults to none: a host-only cookie, the safest. */
    domain?: string;
  };
  /** A zod object of extra claims: validated on login and on every request, typed on `req.auth`. */
  claims?: C;
  /** `iss` claim to set and require. */
  issuer?: string;
  /** `aud` claim to set and require. */
  audience?: string | string[];
  /** Seconds of clock skew accepted on `exp`/`nbf`, at most 300. Defaults to 0. */
  clockTolerance?: number;
  /** Milliseconds to wait for the store before failing closed (503). Defaults to 2000. */
  storeTimeoutMs?: number;
  /** DANGEROUS: accept tokens without a revocation check while the store is down. Defaults to false. */
  failOpen?: boolean;
  /**
   * Opt-in bounded delay: each instance may answer a check from revocation state it read at most this long ago
   * (milliseconds, or a duration such as "100ms" or "1s"; at most "60s"). Revocations made through this instance
   * are seen by it at once, other instances' within the delay. Defaults to 0: every check reads the store.
   */
  maxRevocationDelay?: number | string;
  /** Other origins allowed to POST to logout routes, e.g. `["https://app.example.com"]`. Defaults to none. */
  trustedOrigins?: string[];
  /** Answers a rejected request. Defaults to the JSON error response (`sendErrorJson`). */
  onError?: (error: SessionAuthError, req: Request, res: Response, next: NextFunction) => unknown;
  /** Answers a successful logout. Defaults to 204 No Content. */
  onLogout?: (req: Request, res: Response) => unknown;
  /** Answers a successful logout-everywhere. Defaults to 204 No Content. */
  onLogoutAll?: (req: Request, res: Response) => unknown;
  /** Answers a successful `revokeOtherSessions`. Defaults to 204 No Content. */
  onRevokeOthers?: (req: Request, res: Response) => unknown;
  /**
   * Where warnings go (store outages, fail-open use, and those of a store created without a logger of its own).
   * Defaults to `console`. Never receives tokens.
   */
  logger?: Logger;
  /**
   * TESTS ONLY: the clock, in ms since the epoch. Defaults to `Date.now`. Signing, verification, renewal,
   * freshness and revocation times all read it, so a test can move time without touching `Date`.
   */
  now?: () => number;
}

export type ResolvedSessionAuthOptions = z.output<typeof sessionAuthOptionsSchema>;

/** Keeps the interface and the schema in step: each must accept exactly what the other does. */
type SchemaInput = Omit<z.input<typeof sessionAuthOptionsSchema>, 'claims' | 'store'>;
type InterfaceInput = Omit<SessionAuthOptions, 'claims' | 'store'>;
export type OptionsMatchSchema = [SchemaInput, InterfaceInput] extends [InterfaceInput, SchemaInput] ? true : never;
const optionsMatchSchema: OptionsMatchSchema = true;
void optionsMatchSchema;
