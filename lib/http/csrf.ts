// Cross-site request check for state-changing routes: Origin and Sec-Fetch-Site, no token needed.
import type { Request } from 'express';

/**
 * True when the request may change state: its `Origin` is the app's own or a trusted one, or, without an
 * `Origin`, `Sec-Fetch-Site` is not `cross-site`. Requests with neither header (curl, server-to-server)
 * pass: browsers always send at least one of them on a cross-site POST. `Origin: null` (an opaque origin,
 * but also what Chromium sends on same-origin form posts from a page with `Referrer-Policy: no-referrer`)
 * passes only with `Sec-Fetch-Site: same-origin`.
 */
export function isSameOriginRequest(req: Request, trustedOrigins: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === 'null') return req.headers['sec-fetch-site'] === 'same-origin';
  if (origin !== undefined) {
    const normalized = origin.toLowerCase();
    if (trustedOrigins.has(normalized)) return true;
    const host = req.headers.host;
    return host !== undefined && normalized === `${req.protocol}://${host.toLowerCase()}`;
  }
  return req.headers['sec-fetch-site'] !== 'cross-site';
}
