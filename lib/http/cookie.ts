// The session cookie: reading it from a request, and one configuration that both sets and expires it.
import cookieParser from 'cookie-parser';
import type { Request, Response } from 'express';
import { argumentError } from '../core/config-error.js';

export interface CookieConfig {
  name: string;
  secure: boolean;
  sameSite: 'strict' | 'lax' | 'none';
  path: string;
  domain: string | undefined;
}

const parseCookies = cookieParser();
const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' } as const;
const PAST = 'Thu, 01 Jan 1970 00:00:00 GMT';

/** RFC 6265 cookie-name characters. */
export const COOKIE_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The raw cookie value, from `req.cookies` when cookie-parser (or anything else) already parsed it, else
 * parsed here without touching `req`, so an app's own `cookieParser(secret)` mounted later still works. With
 * two cookies of the same name the first wins, as in cookie-parser and browsers' ordering (most specific
 * path first). Undefined when absent or empty; null when present but not a string (a `j:` JSON cookie that
 * cookie-parser turned into an object), which is an invalid token.
 */
export function readCookie(req: Request, name: string): string | null | undefined {
  let cookies = req.cookies as Record<string, unknown> | undefined;
  if (cookies === undefined) {
    const holder: { headers: Request['headers']; cookies?: Record<string, unknown> } = { headers: req.headers };
    parseCookies(holder as unknown as Request, undefined as unknown as Response, noop);
    cookies = holder.cookies;
  }
  const value: unknown = cookies?.[name];
  if (value === undefined || value === '') return undefined;
  return typeof value === 'string' ? value : null;
}

/**
 * Every distinct non-empty value of cookie `name` in the request, in header order, each decoded exactly as
 * cookie-parser decodes the one it keeps (quotes, percent-encoding, `j:` JSON strings), so that a value
 * `authenticate` accepts is never one a logout cannot see. A sibling subdomain can plant a second cookie of the
 * same name (with a more specific path it is even sent first): logout acts on all of them.
 */
export function readCookieValues(req: Request, name: string): string[] {
  const header = req.headers.cookie;
  if (header === undefined) return [];
  const values = new Set<string>();
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const holder: { headers: { cookie: string }; cookies?: Record<string, unknown> } = { headers: { cookie: pair } };
    parseCookies(holder as unknown as Request, undefined as unknown as Response, noop);
    const value = holder.cookies?.[name];
    if (typeof value === 'string' && value !== '') values.add(value);
  }
  return [...values];
}

/** Browsers drop a cookie whose name and value exceed 4096 bytes (RFC 6265 asks for at least that much). */
export const MAX_COOKIE_BYTES = 4096;

function noop(): void {
  // cookie-parser calls next() synchronously; nothing to do after it
}

/** Builds the Set-Cookie attributes once, so setting and clearing can never disagree on path or domain. */
export function createCookieWriter(config: CookieConfig) {
  const attributes =
    `; Path=${config.path}` +
    (config.domain === undefined ? '' : `; Domain=${config.domain}`) +
    '; HttpOnly' +
    (config.secure ? '; Secure' : '') +
    `; SameSite=${SAME_SITE[config.sameSite]}`;
  const prefix = `${config.name}=`;

  return {
    /** Throws when a cookie holding `value` would be dropped by browsers (over 4096 bytes with its name). */
    assertFits(value: string): void {
      const bytes = Buffer.byteLength(prefix) + Buffer.byteLength(value);
      if (bytes <= MAX_COOKIE_BYTES) return;
      throw argumentError(
        'auth.login(res, claims)',
        `would set a session cookie of ${bytes} bytes; browsers drop cookies over ${MAX_COOKIE_BYTES} bytes, so every request would be signed out. Use a shorter \`sub\` or fewer, shorter claims.`,
      );
    },
    /** Sets the cookie to `value` (a compact JWT: URL-safe as is) for `maxAgeSeconds`. */
    set(res: Response, value: string, maxAgeSeconds: number): void {
      const expires = new Date(Date.now() + maxAgeSeconds * 1000).toUTCString();
      appendSetCookie(res, `${prefix}${value}; Max-Age=${maxAgeSeconds}; Expires=${expires}${attributes}`);
    },
    /** Expires the cookie with the same name, path, domain, Secure and SameSite it was set with. */
    clear(res: Response): void {
      appendSetCookie(res, `${prefix}; Max-Age=0; Expires=${PAST}${attributes}`);
    },
  };
}

export type CookieWriter = ReturnType<typeof createCookieWriter>;

function appendSetCookie(res: Response, cookie: string): void {
  if (res.headersSent) return;
  res.append('Set-Cookie', cookie);
  // A response that sets or expires a session cookie must never be stored by a shared cache.
  res.setHeader('Cache-Control', 'no-store');
}
