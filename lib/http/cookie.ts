// The session cookie: reading it from a request, and one configuration that both sets and expires it.
import cookieParser from 'cookie-parser';
import type { Request, Response } from 'express';

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

/** Most values of the session cookie a logout looks at; browsers send one, a planted cookie makes two. */
const MAX_COOKIE_VALUES = 8;

/**
 * Every distinct non-empty value of cookie `name` in the request (at most 8), in header order. A sibling subdomain can plant a
 * second cookie of the same name (with a more specific path it is even sent first): logout acts on all of them.
 */
export function readCookieValues(req: Request, name: string): string[] {
  const header = req.headers.cookie;
  if (header === undefined) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (value !== '') values.push(safeDecode(value));
  }
  // A header repeating one value (or dozens) must not cost a verification and a store read per copy.
  return [...new Set(values)].slice(0, MAX_COOKIE_VALUES);
}

function safeDecode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

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
