// Fuzzing everything a client controls: the Cookie header (duplicates, odd encodings, huge values, truncated,
// altered and re-signed tokens, alg/kid/typ variations, claim types) and Origin / Sec-Fetch-Site on the logout
// routes. Oracles: no 5xx, no crash or unhandled rejection, every rejection a documented code with its status,
// no forged or altered token accepted, no forged token able to log anyone out, the CSRF rule as documented.
// FUZZ_RUNS sets the number of cases (default 10,000), FUZZ_SEED replays.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import express4 from 'express4';
import express5 from 'express';
import { createSessionAuth, ERROR_STATUS, MemoryRevocationStore, type SessionAuth } from '../../lib/index.js';
import { base64url } from '../support/tokens.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 0) || 10_000;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const NOW = (Math.ceil(Date.now() / 1000) + 60) * 1000;
const OLD = { kid: 'k0', secret: randomBytes(32) };
const CURRENT = { kid: 'k1', secret: randomBytes(32) };
const ATTACKER = randomBytes(32);

interface Target {
  server: Server;
  port: number;
  auth: SessionAuth;
}

function startApp(express: typeof express5): Promise<Target> {
  const auth = createSessionAuth({
    keys: [CURRENT, OLD],
    store: new MemoryRevocationStore({ now: () => NOW }),
    cookie: { secure: false },
    renewAfter: false,
    maxSessions: 50,
    trustedOrigins: ['https://trusted.example'],
    logger: { warn: () => {} },
    now: () => NOW,
  });
  const app = express();
  app.use(auth.authenticate);
  app.get('/me', auth.requireAuth, (req, res) =>
    res.json({ sub: auth.sessionOf(req).sub, sessionId: auth.sessionOf(req).sessionId }),
  );
  app.get('/public', (req, res) => res.json({ sub: auth.getAuth(req)?.sub ?? null }));
  app.post('/logout', auth.logout);
  app.post('/logout-all', auth.logoutAll);
  app.post('/revoke-others', auth.revokeOtherSessions);
  app.post('/login', (req, res, next) => {
    auth
      .login(res, { sub: typeof req.query.sub === 'string' ? req.query.sub : 'nobody' })
      .then((s) => res.json(s), next);
  });
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      server.keepAliveTimeout = 120_000;
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0, auth });
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

interface Reply {
  status: number;
  body: string;
}

/** One request over a keep-alive socket; header values the HTTP client itself refuses are reported as such. */
function call(port: number, method: string, path: string, headers: Record<string, string>): Promise<Reply | 'refused'> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
    } catch {
      return resolve('refused');
    }
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.end();
  });
}

// --- tokens ---

const json = (v: unknown) => base64url(JSON.stringify(v));
function hmac(alg: 'HS256' | 'HS384' | 'HS512', key: Buffer, head: string): string {
  return createHmac(`sha${alg.slice(2)}`, key)
    .update(head)
    .digest('base64url');
}
function sign(header: unknown, payload: unknown, key: Buffer, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256'): string {
  const head = `${typeof header === 'string' ? header : json(header)}.${typeof payload === 'string' ? payload : json(payload)}`;
  return `${head}.${hmac(alg, key, head)}`;
}
const parts = (token: string) => token.split('.') as [string, string, string];
const decode = (segment: string) =>
  JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

/** The first cookie named `session` as cookie-parser reads it (what `requireAuth` verifies). */
function sessionCookieOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== 'session') continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"')) value = value.slice(1, -1);
    try {
      value = value.includes('%') ? decodeURIComponent(value) : value;
    } catch {
      // kept as is, as the cookie parser does
    }
    if (!value.startsWith('j:')) return value;
    try {
      const parsed: unknown = JSON.parse(value.slice(2));
      return typeof parsed === 'string' ? parsed : undefined;
    } catch {
      return value;
    }
  }
  return undefined;
}

function csrfPasses(headers: Record<string, string>, port: number): boolean {
  const origin = headers.origin;
  if (origin === 'null') return headers['sec-fetch-site'] === 'same-origin';
  if (origin !== undefined) {
    const o = origin.toLowerCase();
    return o === 'https://trusted.example' || o === `http://127.0.0.1:${port}`;
  }
  return headers['sec-fetch-site'] !== 'cross-site';
}

describe('fuzzing client input', () => {
  const targets: Target[] = [];
  const live: { token: string; sub: string; sid: string }[] = [];
  const revoked: string[] = [];
  const problems = { unhandled: 0 };
  const onUnhandled = () => problems.unhandled++;

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    targets.push(await startApp(express5), await startApp(express4));
    // Both apps share nothing: sign in on the first; the second (same keys, own store) accepts those tokens too.
    for (const t of targets.slice(0, 1)) {
      for (const sub of ['alice', 'bob', 'carol', 'dave']) {
        const r = await call(t.port, 'POST', `/login?sub=${sub}`, {});
        if (r === 'refused') throw new Error('login refused');
        const s = JSON.parse(r.body) as { token: string; sessionId: string };
        if (sub === 'carol' || sub === 'dave') revoked.push(s.token);
        else live.push({ token: s.token, sub, sid: s.sessionId });
      }
    }
    // carol logged out (this device), dave everywhere: on both apps' stores.
    for (const t of targets) {
      await call(t.port, 'POST', '/logout', { cookie: `session=${revoked[0] ?? ''}` });
      await call(t.port, 'POST', '/logout-all', { cookie: `session=${revoked[1] ?? ''}` });
    }
  });
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    for (const t of targets) t.server.close();
    agent.destroy();
  });

  test(
    `${RUNS} random requests: no 5xx, documented codes only, no forged token accepted`,
    { timeout: 300_000 },
    async () => {
      const genuine = () => fc.constantFrom(...live.map((l) => l.token), ...revoked);
      const anyToken = genuine();
      const text = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
      const claimValue = fc.oneof(
        fc.string({ maxLength: 70 }),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.constant(NOW),
        fc.constant(Math.floor(NOW / 1000) + 3600),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.nat(), { maxKeys: 2 }),
      );
      const headerVariant = fc.record(
        {
          alg: fc.constantFrom('HS256', 'HS384', 'HS512', 'none', 'None', 'RS256', 'ES256', 'hs256', '', 42),
          typ: fc.constantFrom('JWT', 'jwt', 'at+jwt', 'JOSE', 7, null),
          kid: fc.oneof(
            fc.constantFrom('k1', 'k0', 'k2', '', '../k1', 'k1\u0000', 'K1'),
            fc.integer(),
            fc.string({ maxLength: 300 }),
          ),
          crit: fc.constant(['exp']),
        },
        { requiredKeys: [] },
      );
      // [token, trusted]: trusted tokens are signed with one of the app's keys under their own kid (we minted
      // them, so accepting a valid one is fine); every other token must be rejected.
      const anyMutation: fc.Arbitrary<[string, boolean]> = fc.oneof(
        anyToken.map((t): [string, boolean] => [t, true]),
        fc.tuple(anyToken, fc.nat()).map(([t, n]): [string, boolean] => [t.slice(0, n % t.length), false]),
        fc
          .tuple(anyToken, fc.nat(), fc.constantFrom('A', 'B', '_', '-', '.', '=', '+', '/', '%'))
          .map(([t, n, c]): [string, boolean] => {
            const i = n % t.length;
            const swapped = t[i] === c ? (c === 'A' ? 'B' : 'A') : c;
            return [t.slice(0, i) + swapped + t.slice(i + 1), false];
          }),
        // Payload changed, signature kept (the classic tamper), or re-signed with an attacker's key.
        fc
          .tuple(
            anyToken,
            fc.constantFrom('sub', 'sid', 'exp', 'iat_ms', 'sat', 'pwd', 'sxp', 'admin'),
            claimValue,
            fc.boolean(),
          )
          .map(([t, k, v, resign]): [string, boolean] => {
            const [h, p, s] = parts(t);
            const payload = json({ ...decode(p), [k]: v });
            return [resign ? sign(decode(h), payload, ATTACKER) : `${h}.${payload}.${s}`, false];
          }),
        // Header variations, signed with an attacker's key, with the app's keys under another kid, or unsigned.
        fc
          .tuple(anyToken, headerVariant, fc.constantFrom('attacker', 'swapped-kid', 'unsigned', 'real-key-alg'))
          .map(([t, hv, how]): [string, boolean] => {
            const [h, p] = parts(t);
            const header = { ...decode(h), ...hv };
            if (how === 'unsigned') return [`${json(header)}.${p}.`, false];
            if (how === 'swapped-kid')
              return [
                sign(
                  { ...header, kid: header.kid === 'k1' ? 'k0' : 'k1' },
                  p,
                  header.kid === 'k1' ? CURRENT.secret : OLD.secret,
                ),
                false,
              ];
            if (how === 'real-key-alg') {
              const alg = (['HS384', 'HS512'] as const)[Number(String(header.alg).length % 2)] ?? 'HS384';
              return [sign({ ...header, alg, kid: 'k1' }, p, CURRENT.secret, alg), false];
            }
            return [sign(header, p, ATTACKER), false];
          }),
        // Our own key, our own kid, odd claim types: whatever the claims, never a 5xx.
        fc
          .tuple(
            anyToken,
            fc.constantFrom('sub', 'sid', 'exp', 'iat_ms', 'sat', 'pwd', 'sxp', 'iat', 'nbf', 'aud', 'iss'),
            claimValue,
          )
          .map(([t, k, v]): [string, boolean] => {
            const [, p] = parts(t);
            return [sign({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, { ...decode(p), [k]: v }, CURRENT.secret), true];
          }),
        fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).map((s): [string, boolean] => [s, false]),
        fc
          .tuple(fc.nat(10_000), fc.constantFrom('a', '.', 'eyJ'))
          .map(([n, c]): [string, boolean] => [c.repeat(n + 1).slice(0, n + 1), false]),
        fc
          .tuple(fc.jsonValue(), fc.jsonValue())
          .map(([a, b]): [string, boolean] => [`${json(a)}.${json(b)}.${base64url(randomBytes(32))}`, false]),
      );
      // A "change" that changes nothing (e.g. `iat_ms` set to the value it had) is the genuine token itself.
      const known = new Set([...live.map((l) => l.token), ...revoked]);
      const tokenArb = anyMutation.map(([t, trusted]): [string, boolean] => [t, trusted || known.has(t)]);
      const encode = fc.constantFrom('plain', 'quoted', 'percent', 'percent-partial', 'json-prefix', 'spaces');
      const cookiePart = fc
        .tuple(fc.constantFrom('session', 'session', 'Session', ' session', 'session '), tokenArb, encode)
        .map(([name, [token, trusted], enc]) => {
          let value = token;
          if (enc === 'quoted') value = `"${token}"`;
          if (enc === 'percent')
            value = encodeURIComponent(token).replace(/[A-Za-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
          if (enc === 'percent-partial') value = `${token.slice(0, 5)}%ZZ${token.slice(5)}`;
          if (enc === 'json-prefix') value = `j:${JSON.stringify(token)}`;
          if (enc === 'spaces') value = ` ${token} `;
          return {
            text: `${name}=${value}`,
            trusted: trusted && enc !== 'percent-partial',
            named: name.trim() === 'session',
          };
        });
      const cookieHeader = fc.oneof(
        fc.constant(undefined),
        fc
          .array(
            fc.oneof(
              { weight: 4, arbitrary: cookiePart },
              { weight: 1, arbitrary: text.map((t) => ({ text: t, trusted: false, named: t.includes('session') })) },
            ),
            {
              minLength: 1,
              maxLength: 4,
            },
          )
          .map((list) => ({
            header: list.map((c) => c.text).join('; '),
            // The cookie that is verified is the first one named `session`.
            trusted: list.find((c) => c.named)?.trusted === true,
            anyTrusted: list.some((c) => c.trusted),
          })),
      );
      const originArb = fc.option(
        fc.constantFrom(
          'same',
          'null',
          'https://evil.example',
          'https://trusted.example',
          'HTTPS://TRUSTED.EXAMPLE',
          'http://127.0.0.1',
          'https://127.0.0.1:1',
          '',
        ),
      );
      const fetchSite = fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', 'CROSS-SITE', ''));
      const route = fc.constantFrom(
        ['GET', '/me'],
        ['GET', '/me'],
        ['GET', '/public'],
        ['POST', '/logout'],
        ['POST', '/logout-all'],
        ['POST', '/revoke-others'],
      );

      let cases = 0;
      let refused = 0;
      let accepted = 0;
      const started = performance.now();
      const property = fc.asyncProperty(
        fc.nat(1),
        route,
        cookieHeader,
        originArb,
        fetchSite,
        async (app, [method, path], cookie, origin, site) => {
          const target = targets[app] as Target;
          const headers: Record<string, string> = {};
          // Genuine tokens and tokens signed with the app's keys never go to the logout routes: they would really
          // log those sessions out. Forged ones do, and must end nothing (checked at the end).
          const usable = cookie !== undefined && !(method === 'POST' && cookie.anyTrusted);
          // Node's HTTP server answers 431 itself past 16 KB of headers: stay below, the app is what is tested.
          if (usable) headers.cookie = cookie.header.slice(0, 14_000);
          if (origin !== null) headers.origin = origin === 'same' ? `http://127.0.0.1:${target.port}` : origin;
          if (site !== null) headers['sec-fetch-site'] = site;
          const reply = await call(target.port, method, path, headers);
          if (reply === 'refused') {
            refused++;
            return;
          }
          cases++;
          const { status } = reply;
          assert.ok(status < 500, `${status} ${reply.body}`);
          if (status >= 400) {
            const code = (JSON.parse(reply.body) as { error: { code: keyof typeof ERROR_STATUS } }).error.code;
            assert.equal(ERROR_STATUS[code], status, `undocumented code or status: ${status} ${reply.body}`);
          }
          if (method === 'POST') {
            const passes = csrfPasses(headers, target.port);
            assert.equal(status === 403, !passes, `CSRF: ${JSON.stringify(headers)} answered ${status}`);
          }
          const sent = sessionCookieOf(headers.cookie);
          if (path === '/me' && status === 200) {
            accepted++;
            const body = JSON.parse(reply.body) as { sid?: string; sessionId: string };
            const known = live.find((l) => l.token === sent);
            assert.ok(
              known !== undefined || (usable && cookie.trusted),
              `a forged or altered token was accepted: ${headers.cookie}`,
            );
            assert.ok(!revoked.includes(sent ?? ''), 'a revoked token was accepted');
            if (known !== undefined) assert.equal(body.sessionId, known.sid);
          }
        },
      );
      await fc.assert(property, { numRuns: Math.ceil(RUNS * 1.05), ...(SEED === undefined ? {} : { seed: SEED }) });
      // Forged tokens sent to the logout routes must not have logged anyone out: the live tokens still work.
      for (const t of targets) {
        for (const l of live) {
          const r = await call(t.port, 'GET', '/me', { cookie: `session=${l.token}` });
          assert.ok(r !== 'refused' && r.status === 200, `live session of ${l.sub} was ended by fuzzed input`);
        }
      }
      assert.equal(problems.unhandled, 0, 'unhandled rejections or uncaught exceptions');
      console.log(
        `# fuzz: ${cases} requests (${refused} refused by the HTTP client itself, ${accepted} accepted) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      assert.ok(cases >= RUNS, `only ${cases} cases reached the app`);
    },
  );
});
