// One request's authentication without HTTP: verification against this instance's lifetimes, renewal (reissue)
// of the same session, the once-per-request outcome, and the session put on the request.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Request, Response } from 'express';
import { createCookieWriter } from '../../../lib/http/cookie.js';
import {
  createRequestAuth,
  reissue,
  verifySessionToken,
  type RequestAuthParts,
} from '../../../lib/http/request-auth.js';
import { createRevocationEngine } from '../../../lib/revocation/revocation-engine.js';
import { MemoryRevocationStore } from '../../../lib/stores/memory-store.js';
import { createClaimsParser, createLoginClaimsCheck } from '../../../lib/token/claims.js';
import { resolveConfiguredKeys } from '../../../lib/token/keys.js';
import { newSession, signSessionToken } from '../../../lib/token/sign-token.js';
import { createTokenVerifier } from '../../../lib/token/verify-token.js';

const HOUR = 3_600_000;
const T0 = 1_800_000_000_000;

function parts(now: () => number, settings: { expiresInSeconds?: number; maxAgeSeconds?: number } = {}) {
  const keys = resolveConfiguredKeys({ secret: randomBytes(32) });
  const tokenSettings = {
    algorithm: keys.algorithm,
    signingKey: keys.signingKey,
    keyId: undefined,
    expiresInSeconds: settings.expiresInSeconds ?? 3600,
    maxAgeSeconds: settings.maxAgeSeconds ?? 86_400,
    issuer: undefined,
    audience: undefined,
  };
  const verify = createTokenVerifier({ keys, clockTolerance: 0, issuer: undefined, audience: undefined, now });
  const engine = createRevocationEngine({
    store: new MemoryRevocationStore({ now }),
    storeTimeoutMs: 200,
    failOpen: false,
    logger: { warn: () => undefined },
    issuedAtPrecision: 'milliseconds',
    now,
  });
  const cookie = createCookieWriter({ name: 'session', secure: false, sameSite: 'lax', path: '/', domain: undefined });
  const all: RequestAuthParts = {
    cookieName: 'session',
    cookie,
    verifyToken: verify,
    verifyAnyExpiry: verify,
    parseClaims: createClaimsParser<Record<string, unknown>>(undefined),
    engine,
    tokenSettings,
    renewAfterMs: 30 * 60_000,
    loadClaims: undefined,
    checkClaims: createLoginClaimsCheck(undefined),
    loadClaimsTimeoutMs: 200,
    logger: { warn: () => undefined },
    emit: () => undefined,
  };
  const sign = (at: number, overrides: Partial<typeof tokenSettings> = {}) =>
    signSessionToken(
      { ...tokenSettings, ...overrides },
      newSession({ ...tokenSettings, ...overrides }, 'alice', at),
      {},
      at,
    );
  return { all, sign };
}

function response() {
  const headers: string[] = [];
  const res = {
    headersSent: false,
    append: (_name: string, value: string) => void headers.push(value),
    setHeader: () => undefined,
  } as unknown as Response;
  return { res, headers };
}

describe('verifySessionToken', () => {
  test("a token or session longer than this instance's expiresIn or maxAge is token_expired", async () => {
    let clock = T0;
    const { all, sign } = parts(() => clock);
    assert.equal((await verifySessionToken(all, sign(T0).token)).session?.sub, 'alice');
    const longToken = sign(T0, { expiresInSeconds: 7200 }).token;
    assert.equal((await verifySessionToken(all, longToken)).error?.code, 'token_expired');
    const longSession = sign(T0, { maxAgeSeconds: 86_400 + 301 }).token;
    assert.equal((await verifySessionToken(all, longSession)).error?.code, 'token_expired');
    clock += HOUR;
    assert.equal((await verifySessionToken(all, sign(T0).token)).error?.code, 'token_expired', 'past exp');
  });
});

describe('reissue', () => {
  test('keeps the session id, sign-in time and end; a session ending within a second is not renewed', async () => {
    let clock = T0;
    const { all, sign } = parts(() => clock);
    const { session } = await verifySessionToken(all, sign(T0).token);
    assert.ok(session !== undefined, 'verified');
    clock += 40 * 60_000;
    const { res, headers } = response();
    const renewed = reissue(all, res, session, clock);
    assert.equal(renewed?.signed.sessionId, session.sessionId);
    assert.equal(renewed?.signed.signedInAt.getTime(), session.signedInAtMs);
    assert.equal(renewed?.signed.sessionExpiresAt.getTime(), session.sessionExpMs);
    assert.equal(renewed?.session.auth.issuedAt.getTime(), clock);
    assert.match(headers[0] ?? '', /^session=[^;]+; Max-Age=3600;/);
    const ending = { ...session, sessionExpMs: clock + 500 };
    assert.equal(reissue(all, response().res, ending, clock), undefined);
  });
});

describe('createRequestAuth', () => {
  test('the outcome is computed once per request, and the session is put on the request and read back', async () => {
    const clock = T0;
    const { all, sign } = parts(() => clock);
    let verified = 0;
    const counting: RequestAuthParts = {
      ...all,
      verifyToken: (token) => (verified++, all.verifyToken(token)),
    };
    const requestAuth = createRequestAuth(counting);
    const req = { headers: { cookie: `session=${sign(T0).token}` } } as unknown as Request;
    const { res } = response();
    const [a, b] = await Promise.all([requestAuth.authenticate(req, res), requestAuth.authenticate(req, res)]);
    assert.equal(a, b);
    assert.equal(verified, 1);
    assert.equal(requestAuth.sessionOf(req), undefined, 'authenticate itself leaves the request alone');
    requestAuth.setSession(req, a.auth);
    assert.equal(requestAuth.sessionOf(req)?.sub, 'alice');
    assert.equal((req as Request & { auth?: unknown }).auth, a.auth, 'req.auth too, for plain JavaScript');
    // Another instance (another cookie, another claims schema) sees none of it.
    const other = createRequestAuth(counting);
    assert.equal(other.sessionOf(req), undefined);
    other.setSession(req, undefined);
    assert.equal((req as Request & { auth?: unknown }).auth, a.auth, "another instance's logout leaves it");
    requestAuth.setSession(req, undefined);
    assert.equal(requestAuth.sessionOf(req), undefined);
    assert.equal((req as Request & { auth?: unknown }).auth, undefined);
  });
});
