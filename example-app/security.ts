// Security headers for every response: helmet's defaults, with the CSP tightened to what these pages use
// (one stylesheet, no scripts, no images, forms posting to this site only) and no framing at all.
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export interface SecurityOptions {
  /**
   * The site is served over https (COOKIE_SECURE): the CSP then asks browsers to upgrade any http URL. Left out
   * over plain http, where it would send every form to an https address nothing listens on (e.g. a LAN IP).
   */
  https: boolean;
}

export function securityHeaders(options: SecurityOptions): RequestHandler[] {
  return [
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'none'"],
          'script-src-attr': ["'none'"],
          'style-src': ["'self'"],
          'img-src': ["'self'"],
          'font-src': ["'self'"],
          'object-src': ["'none'"],
          'base-uri': ["'none'"],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
          'upgrade-insecure-requests': options.https ? [] : null,
        },
      },
      frameguard: { action: 'deny' },
      // helmet's default `Referrer-Policy: no-referrer` is kept. With it Chromium sends `Origin: null` on this
      // site's own form posts; the library's CSRF check accepts that only together with
      // `Sec-Fetch-Site: same-origin`, which a cross-site form can never send.
    }),
    // Not part of helmet: the browser features these pages never use.
    (_req, res, next) => {
      res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
      next();
    },
  ];
}
