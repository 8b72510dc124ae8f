// Model-based test of the session contract: random histories of sign-ins, requests, time passing, renewals,
// logouts, revocations, session caps, fresh-auth checks, key rotation, clock skew, store outages, and claims that
// follow the user (claims changes with `refreshClaims`, bans, a failing `loadClaims`), run against several app
// instances over HTTP that share one store. A small reference model says what every request must answer;
// fast-check shrinks any difference to a short history and prints the seed to replay it.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildInstance,
  ClaimsTable,
  Clock,
  closeSharedServer,
  headerOf,
  payloadOf,
  retire,
  ringOf,
  send,
  SwitchStore,
  type Answer,
  type Instance,
  type Lifetimes,
} from './world.js';

const INSTANCES = 3;
const USERS = 2;
const DEVICES = 2;
const MAX_GENERATION = 3;
/** How long `logout` keeps a revoked session beyond its token's `exp` (the largest clock tolerance). */
const ENTRY_SLACK_MS = 300_000;

export interface ModelOptions {
  /** Label for the store in messages. */
  storeName: string;
  /** A fresh store for one history: state is either per history (memory) or namespaced by `subPrefix` (Mongo). */
  makeStore: (clock: Clock) => { inner: SwitchStore['inner']; close?: () => void | Promise<void> };
  life: Lifetimes;
  /** Largest total model time a history may move (the Mongo store reads `Date.now` for its expiries). */
  maxTotalAdvanceMs: number;
  /** Time jumps the histories choose from (ms). */
  jumps: number[];
  /**
   * `true`: a logged-out session stays revoked for as long as any token of it can live (the contract as the
   * session feature promises it). `false`: the revocation lasts until the presented token's `exp` + 300 s, as
   * the README's "Revocation rules" describe `logout` (see the known bug in test/model/README or the report).
   */
}

interface MToken {
  jwt: string;
  sub: string;
  sid: string;
  kid: string;
  iatMs: number;
  exp: number;
  sat: number;
  sxp: number;
  pwd: number;
  /** When the token's claims were loaded (`cla`: sign-in, or a reload after a claims change). */
  cla: number;
  /** The claims: the version of the user's row when they were loaded. */
  ver: number;
  /** Model only, not in the token: the model time (`clock.t`) and step (`World.seq`) of that load. */
  loadedT: number;
  loadSeq: number;
}

/** The token fields the real token is compared on (the rest is the model's bookkeeping). */
const SIGNED = ['sub', 'sid', 'kid', 'iatMs', 'exp', 'sat', 'sxp', 'pwd', 'cla', 'ver'] as const;

/** A `refreshClaims` that completed: of `sub`, called at model time `t` in step `seq`, after the row reached `ver`. */
interface Refresh {
  sub: string;
  t: number;
  seq: number;
  ver: number;
}

/**
 * What `authenticate` does with a token at an instance: the rejection code (undefined when accepted), the token it
 * sets (a renewal, or a reload with fresh claims), how many times it calls `loadClaims` (0 or 1), and whether it
 * banned the user (`loadClaims` answered null: a logout-everywhere).
 */
interface Outcome {
  code: string | undefined;
  token: Omit<MToken, 'jwt'> | undefined;
  loads: number;
  banned: boolean;
}

interface MSession {
  sid: string;
  sub: string;
  signedInAt: number;
  lastActiveAt: number;
  sxp: number;
  /** The store's revoked-session entry: revoked while the store's clock is before it. */
  entryUntil: number;
}

type Target = { kind: 'device'; user: number; dev: number } | { kind: 'copy'; k: number } | { kind: 'none' };

let historyCounter = 0;

/** Model state and the real system, advanced together by the commands. */
export class World {
  readonly clock: Clock;
  readonly store: SwitchStore;
  readonly instances: Instance[] = [];
  readonly subPrefix = `h${historyCounter++}-${Date.now().toString(36)}-`;
  readonly closeStore: (() => void | Promise<void>) | undefined;
  // --- the model ---
  totalAdvance = 0;
  down = false;
  generations: number[];
  readonly watermark = new Map<string, number>();
  /** Registered sessions in registration order (the registry's order for ties). */
  readonly sessions = new Map<string, MSession>();
  readonly devices = new Map<string, MToken | undefined>();
  readonly copies: MToken[] = [];
  readonly log: string[] = [];
  /** The app's user table (claims version, banned) that every instance's `loadClaims` and sign-in route read. */
  readonly table = new ClaimsTable();
  /** Each user's claims change as the store holds it: the largest `refreshClaims` time so far. */
  readonly claimsChanged = new Map<string, number>();
  /** Every `refreshClaims` that completed, in order. */
  readonly refreshes: Refresh[] = [];
  /** For a banned user: the first `refreshClaims` that completed since the ban (none yet: not in the map). */
  readonly banSince = new Map<string, Refresh>();
  /** The largest difference between two instances' clocks (ms). */
  readonly skew: number;

  constructor(
    readonly options: ModelOptions,
    readonly offsets: number[],
  ) {
    this.clock = new Clock((Math.ceil(Date.now() / 1000) + 60) * 1000);
    const made = options.makeStore(this.clock);
    this.store = new SwitchStore(made.inner, this.clock);
    this.closeStore = made.close;
    this.generations = offsets.map(() => 0);
    this.skew = Math.max(...offsets) - Math.min(...offsets);
    for (let i = 0; i < offsets.length; i++) this.instances.push(this.#build(i));
  }

  /** The current step's number (its place in the log). */
  get seq(): number {
    return this.log.length;
  }

  #build(i: number): Instance {
    return buildInstance(
      this.store,
      this.clock,
      this.options.life,
      this.offsets[i] as number,
      this.generations[i] as number,
      this.table,
    );
  }

  sub(user: number): string {
    return `${this.subPrefix}u${user}`;
  }

  /** Model time of instance `i` at the start of an operation. */
  nowAt(i: number): number {
    return this.clock.base + this.clock.t + (this.offsets[i] as number);
  }
  storeNow(): number {
    return this.clock.base + this.clock.t;
  }

  tick(ms: number): void {
    this.clock.t += ms;
    this.clock.drift = 0;
  }

  tokenOf(target: Target): MToken | undefined {
    if (target.kind === 'device') return this.devices.get(`${target.user}/${target.dev}`);
    if (target.kind === 'copy')
      return this.copies.length === 0 ? undefined : this.copies[target.k % this.copies.length];
    return undefined;
  }

  // --- the model's rules ---

  /** Verification by instance `i`: key ring and expiry (`exp` checked in whole seconds, no tolerance). */
  verifyError(token: MToken, i: number, ignoreExpiry = false): string | undefined {
    if (!ringOf(this.generations[i] as number).includes(token.kid)) return 'invalid_token';
    if (!ignoreExpiry && Math.floor(this.nowAt(i) / 1000) >= token.exp) return 'token_expired';
    return undefined;
  }

  revokedNow(sid: string): boolean {
    const s = this.sessions.get(sid);
    return s !== undefined && s.entryUntil > this.storeNow();
  }

  /** The code a token is rejected with at instance `i`, or undefined when it is accepted. */
  rejection(token: MToken | undefined, i: number): string | undefined {
    if (token === undefined) return 'credentials_required';
    const bad = this.verifyError(token, i);
    if (bad !== undefined) return bad;
    if (this.down) return 'revocation_unavailable';
    if (this.revokedNow(token.sid)) return 'session_revoked';
    const w = this.watermark.get(token.sub);
    if (w !== undefined && token.sat <= w) return 'logged_out_everywhere';
    return undefined;
  }

  /** Signs (in the model) a token of `token`'s session at instance `i`; undefined when it would end within 1 s. */
  reissue(token: MToken, i: number, pwd = token.pwd): Omit<MToken, 'jwt'> | undefined {
    const now = this.nowAt(i);
    const exp = Math.min(Math.floor(now / 1000) + this.options.life.expiresIn, Math.floor(token.sxp / 1000));
    if (exp * 1000 - now < 1000) return undefined;
    const kid = ringOf(this.generations[i] as number)[0] as string;
    const { sub, sid, sat, sxp, cla, ver, loadedT, loadSeq } = token;
    return { sub, sid, kid, iatMs: now, exp, sat, sxp, pwd, cla, ver, loadedT, loadSeq };
  }

  /** The renewal `authenticate` does for an accepted token, with the registry touch. */
  renewal(token: MToken, i: number): Omit<MToken, 'jwt'> | undefined {
    const now = this.nowAt(i);
    if (now - token.iatMs <= this.options.life.renewAfter * 1000) return undefined;
    const renewed = this.reissue(token, i);
    if (renewed !== undefined) {
      const s = this.sessions.get(token.sid);
      if (s !== undefined) s.lastActiveAt = Math.max(s.lastActiveAt, now);
    }
    return renewed;
  }

  /**
   * The whole of `authenticate` for a token at instance `i`: verification and the revocation check
   * (`rejection`); then a token whose claims were loaded at or before the user's claims change (`cla` ≤ the
   * change, inclusive as the watermark) calls `loadClaims` once: it fails (503 `claims_unavailable`, the cookie
   * kept), answers null for a banned user (a logout-everywhere at this instance's clock: 401
   * `logged_out_everywhere`), or answers the row's version, signed into a token of the same session issued now with
   * `cla` now, when the load began (`claims_stale` when the session ends within the second), and no renewal; else an
   * up-to-date token never calls it, and is renewed as before. Applies what it changes in the store (the ban's
   * watermark, a renewal's or a reload's registry touch).
   */
  authenticate(token: MToken | undefined, i: number): Outcome {
    const code = this.rejection(token, i);
    if (code !== undefined || token === undefined) return { code, token: undefined, loads: 0, banned: false };
    const changed = this.claimsChanged.get(token.sub);
    if (changed === undefined || token.cla > changed) {
      return { code: undefined, token: this.renewal(token, i), loads: 0, banned: false };
    }
    if (this.table.mode !== 'ok') return { code: 'claims_unavailable', token: undefined, loads: 1, banned: false };
    const row = this.table.row(token.sub);
    if (row.banned) {
      this.watermark.set(token.sub, Math.max(this.watermark.get(token.sub) ?? -Infinity, this.nowAt(i)));
      return { code: 'logged_out_everywhere', token: undefined, loads: 1, banned: true };
    }
    // Loaded when the load began, by this instance's clock: one behind the change reloads again next time.
    const now = this.nowAt(i);
    const fresh = { ...token, ver: row.ver, cla: now, loadedT: this.clock.t, loadSeq: this.seq };
    const reloaded = this.reissue(fresh, i);
    if (reloaded === undefined) return { code: 'claims_stale', token: undefined, loads: 1, banned: false };
    const s = this.sessions.get(token.sid); // a reload touches the registry, as a renewal does
    if (s !== undefined) s.lastActiveAt = Math.max(s.lastActiveAt, now);
    return { code: undefined, token: reloaded, loads: 1, banned: false };
  }

  /**
   * The user's sessions as the registry lists them (registration order): not revoked, signed in after the
   * watermark, and not past their end plus the largest clock tolerance (an instance may still accept them).
   */
  live(sub: string): MSession[] {
    const now = this.storeNow();
    const w = this.watermark.get(sub) ?? -Infinity;
    return [...this.sessions.values()].filter(
      (s) => s.sub === sub && s.sxp + ENTRY_SLACK_MS > now && s.signedInAt > w && !(s.entryUntil > now),
    );
  }

  revokeEntry(sid: string, until: number): void {
    const s = this.sessions.get(sid);
    if (s !== undefined) s.entryUntil = Math.max(s.entryUntil, until);
  }

  /** The sessions a sign-in by `sub` at instance `i` would end; `null` when ties make the choice ambiguous. */
  evictions(sub: string): MSession[] | null {
    const others = [...this.live(sub)].sort((a, b) => b.lastActiveAt - a.lastActiveAt);
    const keep = this.options.life.maxSessions - 1;
    if (others.length <= keep) return [];
    const last = others[keep - 1];
    const first = others[keep];
    if (first !== undefined && last?.lastActiveAt === first.lastActiveAt) return null;
    return others.slice(keep);
  }

  // --- checking answers ---

  /**
   * The contract of claims refresh, stated in time rather than in the model's rules (which say more: the exact
   * version, token and number of `loadClaims` calls), for a request whose session was accepted with `presented`
   * (and whose route saw claims version `seen`, when it shows them):
   * - a banned user (banned in the table, and a `refreshClaims` since the ban completed) is accepted on no device
   *   and no instance;
   * - the claims are at least as new as every `refreshClaims` of the user that completed before the request was
   *   sent (`seen` ≥ the version it published).
   * Both except for a refresh made no more than `skew` ms (the instances' largest clock difference) after the
   * token's claims were loaded: the change and `cla` are stamped by different clocks, the documented clock caveat.
   * At `skew` 0 that leaves a refresh in the same model millisecond as the load: steps of 0 ms share it, while
   * a real `refreshClaims` returns only once the clock has passed its change.
   */
  checkAccepted(what: string, presented: MToken, seen: unknown): void {
    const outside = (r: Refresh) => r.seq < presented.loadSeq || r.t - presented.loadedT > this.skew;
    const ban = this.banSince.get(presented.sub);
    if (ban !== undefined && outside(ban))
      this.fail(what, `a banned user was accepted, ${this.clock.t - ban.t} ms after the ban's refreshClaims`);
    if (seen !== undefined) {
      const floor = Math.max(
        -Infinity,
        ...this.refreshes.filter((r) => r.sub === presented.sub && outside(r)).map((r) => r.ver),
      );
      if (typeof seen !== 'number' || seen < floor)
        this.fail(
          what,
          `the route saw claims version ${JSON.stringify(seen)}, older than a completed refreshClaims (${floor})`,
        );
    }
  }

  /** The number of `loadClaims` calls since `before` is the model's. */
  expectLoads(what: string, before: number, loads: number): void {
    const calls = this.table.calls - before;
    if (calls !== loads) this.fail(what, `loadClaims was called ${calls} times, the model expects ${loads}`);
  }

  fail(what: string, detail: string): never {
    throw new Error(`${what}: ${detail}\nhistory so far:\n  ${this.log.join('\n  ')}`);
  }

  expectAnswer(what: string, got: Answer, status: number, code: string | undefined): void {
    if (got.status !== status || got.code !== code) {
      this.fail(
        what,
        `expected ${status} ${code ?? ''}, got ${got.status} ${got.code ?? ''} ${JSON.stringify(got.body)}`,
      );
    }
  }

  /** Checks the cookie of an answer against the model's token (or clearing), and records the real token. */
  expectCookie(what: string, got: Answer, expected: Omit<MToken, 'jwt'> | null | undefined): MToken | null | undefined {
    if (expected === undefined) {
      if (typeof got.cookie === 'string')
        this.fail(what, `unexpected new session cookie ${JSON.stringify(payloadOf(got.cookie))}`);
      if (got.cookie === null) this.fail(what, 'the cookie was expired, the model keeps it');
      return undefined;
    }
    if (expected === null) {
      if (got.cookie !== null) this.fail(what, `expected the cookie to be expired, got ${String(got.cookie)}`);
      return null;
    }
    if (typeof got.cookie !== 'string') this.fail(what, `expected a new token, got ${String(got.cookie)}`);
    const p = payloadOf(got.cookie);
    const actual = {
      sub: p.sub,
      sid: p.sid,
      kid: headerOf(got.cookie).kid,
      iatMs: p.iat_ms,
      exp: p.exp,
      sat: p.sat,
      sxp: p.sxp,
      pwd: p.pwd,
      cla: p.cla,
      ver: p.ver,
    };
    assert.deepEqual(
      actual,
      Object.fromEntries(SIGNED.map((k) => [k, expected[k]])),
      `${what}: token claims differ from the model\n  ${this.log.join('\n  ')}`,
    );
    const token: MToken = { ...expected, jwt: got.cookie };
    this.copies.push(token);
    return token;
  }

  /**
   * The store's watermark of `sub`, read from the store itself, is the model's: the largest of every
   * logout-everywhere so far (instances' clocks differ, so a later one may carry an earlier time).
   */
  async expectWatermark(what: string, sub: string): Promise<void> {
    const state = await this.store.inner.getState(sub, '', 0);
    const stored = state.lastLogoutAt?.getTime();
    if (stored !== this.watermark.get(sub))
      this.fail(what, `the store holds the watermark ${stored}, the model ${this.watermark.get(sub)}`);
  }

  /** The store's claims change of `sub` is the model's: the largest `refreshClaims` time so far. */
  async expectClaimsChange(what: string, sub: string): Promise<void> {
    const state = await this.store.inner.getState(sub, '', 0);
    const stored = state.claimsChangedAt?.getTime();
    if (stored !== this.claimsChanged.get(sub))
      this.fail(what, `the store holds the claims change ${stored}, the model ${this.claimsChanged.get(sub)}`);
  }

  /** Applies a response's cookie to the device that sent it. */
  keep(target: Target, result: MToken | null | undefined): void {
    if (target.kind !== 'device' || result === undefined) return;
    this.devices.set(`${target.user}/${target.dev}`, result ?? undefined);
  }

  async rebuild(i: number): Promise<void> {
    this.generations[i] = Math.min(MAX_GENERATION, (this.generations[i] as number) + 1);
    retire([this.instances[i] as Instance]);
    this.instances[i] = this.#build(i);
    await this.instances[i]?.auth.ready;
  }
}

const code = (error: unknown) => (error as { code?: string }).code;
const STATUS: Record<string, number> = {
  revocation_unavailable: 503,
  claims_unavailable: 503,
  csrf_rejected: 403,
  banned: 403,
};
const statusOf = (c: string | undefined) => (c === undefined ? 200 : (STATUS[c] ?? 401));
/** Whether `authenticate` expires the cookie for this rejection. */
const clears = (c: string | undefined) =>
  c !== undefined &&
  c !== 'credentials_required' &&
  c !== 'revocation_unavailable' &&
  c !== 'claims_unavailable' &&
  c !== 'reauthentication_required';

function describeTarget(t: Target): string {
  return t.kind === 'device' ? `u${t.user}/d${t.dev}` : t.kind === 'copy' ? `copy#${t.k}` : 'no-cookie';
}

abstract class Step implements fc.AsyncCommand<World, World> {
  constructor(readonly tick: number) {}
  check(m: Readonly<World>): boolean {
    return !(m.options.storeName !== 'memory' && m.totalAdvance + this.tick > m.options.maxTotalAdvanceMs);
  }
  async run(w: World): Promise<void> {
    w.tick(this.tick);
    w.totalAdvance += this.tick;
    w.log.push(`[t=${w.clock.t}] ${this.toString()}`);
    await this.step(w);
    await w.store.settle();
  }
  abstract step(w: World): Promise<void>;
  abstract toString(): string;
}

class Login extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly user: number,
    readonly dev: number,
  ) {
    super(tick);
  }
  override check(m: Readonly<World>): boolean {
    if (!super.check(m)) return false;
    if (m.down || m.table.users.get(m.sub(this.user))?.banned === true) return true;
    // Ties in "last active" at the cap's edge make the eviction order unspecified: not a history to judge.
    const w = m as World;
    const saved = w.clock.t;
    w.clock.t += this.tick;
    const ambiguous = w.evictions(w.sub(this.user)) === null;
    w.clock.t = saved;
    return !ambiguous;
  }
  async step(w: World): Promise<void> {
    const sub = w.sub(this.user);
    const what = this.toString();
    const calls = w.table.calls;
    const got = await send(w.instances[this.inst]!, 'post', '/login', undefined, { sub });
    w.expectLoads(what, calls, 0); // the sign-in route reads the table itself
    const row = w.table.row(sub);
    if (row.banned) {
      w.expectAnswer(what, got, 403, 'banned');
      w.expectCookie(what, got, undefined);
      return;
    }
    if (w.down) {
      w.expectAnswer(what, got, 503, 'revocation_unavailable');
      w.expectCookie(what, got, undefined);
      return;
    }
    const now = w.nowAt(this.inst);
    const sxp = now + w.options.life.maxAge * 1000;
    const evicted = w.evictions(sub) ?? [];
    w.expectAnswer(what, got, 200, undefined);
    const sid = String((got.body as { sessionId?: string }).sessionId);
    const expected = {
      sub,
      sid,
      kid: ringOf(w.generations[this.inst] as number)[0] as string,
      iatMs: now,
      exp: Math.min(Math.floor(now / 1000) + w.options.life.expiresIn, Math.floor(sxp / 1000)),
      sat: now,
      sxp,
      pwd: now,
      cla: now,
      ver: row.ver,
      loadedT: w.clock.t,
      loadSeq: w.seq,
    };
    w.sessions.set(sid, { sid, sub, signedInAt: now, lastActiveAt: now, sxp, entryUntil: -Infinity });
    for (const s of evicted) w.revokeEntry(s.sid, s.sxp + ENTRY_SLACK_MS);
    w.keep({ kind: 'device', user: this.user, dev: this.dev }, w.expectCookie(what, got, expected));
  }
  toString(): string {
    return `login(i${this.inst}, u${this.user}/d${this.dev}, +${this.tick}ms)`;
  }
}

type Route = 'me' | 'public' | 'sensitive';

class Request extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly target: Target,
    readonly route: Route,
  ) {
    super(tick);
  }
  async step(w: World): Promise<void> {
    const token = w.tokenOf(this.target);
    const what = this.toString();
    const { code: rejection, token: renewed, loads, banned } = w.authenticate(token, this.inst);
    const calls = w.table.calls;
    const got = await send(w.instances[this.inst]!, 'get', `/${this.route}`, token?.jwt);
    // The claims the route sees: those of the reloaded or renewed token, else of the one presented.
    const ver = rejection === undefined ? (renewed ?? token)?.ver : undefined;
    let expectedCode = rejection;
    if (this.route === 'public') {
      w.expectAnswer(what, got, 200, undefined);
      assert.equal(got.body.sub, rejection === undefined ? token?.sub : null, `${what}: req.auth on a public route`);
      if (token !== undefined && got.body.sub !== null) w.checkAccepted(what, token, got.body.ver);
      assert.equal(got.body.ver, ver ?? null, `${what}: the claims the route sees`);
      expectedCode = undefined;
    } else if (
      this.route === 'sensitive' &&
      rejection === undefined &&
      token !== undefined &&
      w.nowAt(this.inst) - token.pwd > w.options.life.fresh * 1000
    ) {
      expectedCode = 'reauthentication_required';
    }
    if (this.route !== 'public') {
      if (token !== undefined && got.status === 200) w.checkAccepted(what, token, got.body.ver);
      w.expectAnswer(what, got, statusOf(expectedCode), expectedCode);
      if (expectedCode === undefined) assert.equal(got.body.ver, ver, `${what}: the claims the route sees`);
    }
    w.expectLoads(what, calls, loads);
    if (banned && token !== undefined) await w.expectWatermark(what, token.sub);
    w.keep(this.target, w.expectCookie(what, got, clears(rejection) ? null : renewed));
  }
  toString(): string {
    return `GET /${this.route}(i${this.inst}, ${describeTarget(this.target)}, +${this.tick}ms)`;
  }
}

class Logout extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly target: Target,
  ) {
    super(tick);
  }
  async step(w: World): Promise<void> {
    const token = w.tokenOf(this.target);
    const what = this.toString();
    // The app-wide `authenticate` runs first (it may renew, reload, ban or expire the cookie), then `logout`.
    const { code: rejection, token: renewed, loads, banned } = w.authenticate(token, this.inst);
    const calls = w.table.calls;
    const got = await send(w.instances[this.inst]!, 'post', '/logout', token?.jwt);
    w.expectLoads(what, calls, loads);
    if (banned && token !== undefined) await w.expectWatermark(what, token.sub);
    const ends = token !== undefined && w.verifyError(token, this.inst, true) === undefined;
    if (ends && w.down) {
      w.expectAnswer(what, got, 503, 'revocation_unavailable');
      w.keep(this.target, w.expectCookie(what, got, clears(rejection) ? null : renewed));
      return;
    }
    w.expectAnswer(what, got, 204, undefined);
    if (ends) w.revokeEntry(token.sid, token.sxp + ENTRY_SLACK_MS); // out for the session's whole life
    w.keep(this.target, w.expectCookie(what, got, null));
  }
  toString(): string {
    return `POST /logout(i${this.inst}, ${describeTarget(this.target)}, +${this.tick}ms)`;
  }
}

/** A valid, unrevoked token whose claims could not be refreshed: the handlers that end sessions still act on it. */
const unrefreshed = (code: string | undefined): boolean => code === 'claims_unavailable' || code === 'claims_stale';

class LogoutAll extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly target: Target,
  ) {
    super(tick);
  }
  async step(w: World): Promise<void> {
    const token = w.tokenOf(this.target);
    const what = this.toString();
    const { code: rejection, loads, banned } = w.authenticate(token, this.inst); // a new token is expired at once
    const calls = w.table.calls;
    const got = await send(w.instances[this.inst]!, 'post', '/logout-all', token?.jwt);
    w.expectLoads(what, calls, loads);
    if (banned && token !== undefined) await w.expectWatermark(what, token.sub);
    // Ending sessions needs no claims: a token whose claims could not be refreshed still logs its user out.
    const acts = rejection === undefined || unrefreshed(rejection);
    w.expectAnswer(what, got, acts ? 204 : statusOf(rejection), acts ? undefined : rejection);
    if (acts && token !== undefined) {
      if (rejection === undefined) w.checkAccepted(what, token, undefined);
      w.watermark.set(token.sub, Math.max(w.watermark.get(token.sub) ?? -Infinity, w.nowAt(this.inst)));
      await w.expectWatermark(what, token.sub);
      w.keep(this.target, w.expectCookie(what, got, null));
      return;
    }
    w.keep(this.target, w.expectCookie(what, got, clears(rejection) ? null : undefined));
  }
  toString(): string {
    return `POST /logout-all(i${this.inst}, ${describeTarget(this.target)}, +${this.tick}ms)`;
  }
}

class RevokeOthers extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly target: Target,
  ) {
    super(tick);
  }
  async step(w: World): Promise<void> {
    const token = w.tokenOf(this.target);
    const what = this.toString();
    const { code: rejection, token: renewed, loads, banned } = w.authenticate(token, this.inst);
    const calls = w.table.calls;
    const got = await send(w.instances[this.inst]!, 'post', '/revoke-others', token?.jwt);
    w.expectLoads(what, calls, loads);
    if (banned && token !== undefined) await w.expectWatermark(what, token.sub);
    const acts = rejection === undefined || unrefreshed(rejection); // as in LogoutAll
    w.expectAnswer(what, got, acts ? 204 : statusOf(rejection), acts ? undefined : rejection);
    if (acts && token !== undefined) {
      if (rejection === undefined) w.checkAccepted(what, token, undefined);
      for (const s of w.live(token.sub)) if (s.sid !== token.sid) w.revokeEntry(s.sid, s.sxp + ENTRY_SLACK_MS);
    }
    w.keep(this.target, w.expectCookie(what, got, clears(rejection) ? null : renewed));
  }
  toString(): string {
    return `POST /revoke-others(i${this.inst}, ${describeTarget(this.target)}, +${this.tick}ms)`;
  }
}

class Reauth extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly target: Target,
  ) {
    super(tick);
  }
  async step(w: World): Promise<void> {
    const token = w.tokenOf(this.target);
    const what = this.toString();
    // The app-wide `authenticate` runs first (renewal, or reload), then `reauthenticate` re-issues its session.
    const { code: rejection, token: renewed, loads, banned } = w.authenticate(token, this.inst);
    const calls = w.table.calls;
    const got = await send(w.instances[this.inst]!, 'post', '/reauth', token?.jwt);
    w.expectLoads(what, calls, loads);
    if (banned && token !== undefined) await w.expectWatermark(what, token.sub);
    if (rejection !== undefined || token === undefined) {
      w.expectAnswer(what, got, statusOf(rejection), rejection);
      w.keep(this.target, w.expectCookie(what, got, clears(rejection) ? null : undefined));
      return;
    }
    if (got.status === 200 && typeof got.cookie === 'string') w.checkAccepted(what, token, payloadOf(got.cookie).ver);
    const base = renewed === undefined ? token : { ...renewed, jwt: '' };
    const fresh = w.reissue(base, this.inst, w.nowAt(this.inst));
    if (fresh === undefined) {
      w.expectAnswer(what, got, 401, 'token_expired');
      const result = w.expectCookie(what, got, renewed);
      w.keep(this.target, result);
      return;
    }
    w.expectAnswer(what, got, 200, undefined);
    w.keep(this.target, w.expectCookie(what, got, fresh));
  }
  toString(): string {
    return `POST /reauth(i${this.inst}, ${describeTarget(this.target)}, +${this.tick}ms)`;
  }
}

class RevokeUser extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly user: number,
  ) {
    super(tick);
  }
  async step(w: World): Promise<void> {
    const sub = w.sub(this.user);
    const result = await w.instances[this.inst]!.auth.revokeUser(sub).then(
      (at) => at.getTime(),
      (e: unknown) => e,
    );
    if (w.down) {
      assert.equal(code(result), 'revocation_unavailable', `${this.toString()}: must fail closed`);
      return;
    }
    assert.equal(result, w.nowAt(this.inst), `${this.toString()}: the watermark`);
    w.watermark.set(sub, Math.max(w.watermark.get(sub) ?? -Infinity, w.nowAt(this.inst)));
    await w.expectWatermark(this.toString(), sub);
  }
  toString(): string {
    return `auth.revokeUser(i${this.inst}, u${this.user}, +${this.tick}ms)`;
  }
}

class RevokeSession extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly pick: number,
  ) {
    super(tick);
  }
  override check(m: Readonly<World>): boolean {
    return super.check(m) && m.sessions.size > 0;
  }
  async step(w: World): Promise<void> {
    const sessions = [...w.sessions.values()];
    const s = sessions[this.pick % sessions.length] as MSession;
    const result = await w.instances[this.inst]!.auth.revokeSession(s.sid, { sub: s.sub }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (w.down) {
      assert.equal(code(result), 'revocation_unavailable', `${this.toString()}: must fail closed`);
      return;
    }
    // A listed session is ended until its end (plus the tolerance); one already revoked stays so; any other
    // (ended by a logout-everywhere or by time) is no session of that user that can still be used: refused.
    if (w.live(s.sub).includes(s)) {
      assert.equal(result, undefined, `${this.toString()}: ${String(result)}`);
      w.revokeEntry(s.sid, s.sxp + ENTRY_SLACK_MS);
    } else if (w.revokedNow(s.sid)) {
      assert.equal(result, undefined, `${this.toString()}: already revoked: ${String(result)}`);
    } else {
      assert.equal(code(result), 'invalid_argument', `${this.toString()}: not a live session: ${String(result)}`);
    }
  }
  toString(): string {
    return `auth.revokeSession(i${this.inst}, session#${this.pick}, +${this.tick}ms)`;
  }
}

class ListSessions extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly user: number,
  ) {
    super(tick);
  }
  async step(w: World): Promise<void> {
    const sub = w.sub(this.user);
    const result = await w.instances[this.inst]!.auth.listSessions(sub).then(
      (list) => list,
      (e: unknown) => e,
    );
    if (w.down) {
      assert.equal(code(result), 'revocation_unavailable', `${this.toString()}: must fail closed`);
      return;
    }
    const got = (result as { sessionId: string }[]).map((s) => s.sessionId).sort();
    const expected = w
      .live(sub)
      .map((s) => s.sid)
      .sort();
    if (JSON.stringify(got) !== JSON.stringify(expected))
      w.fail(this.toString(), `listed ${JSON.stringify(got)}, the model has ${JSON.stringify(expected)}`);
  }
  toString(): string {
    return `auth.listSessions(i${this.inst}, u${this.user}, +${this.tick}ms)`;
  }
}

type ClaimsChangeKind = 'change' | 'ban' | 'unban';

/**
 * The app changes a user's row (a new claims version; or bans the user, or lifts the ban: the version stays), then,
 * unless `refresh` is false (an app that forgets), calls `auth.refreshClaims(sub)` on one instance.
 */
class ChangeClaims extends Step {
  constructor(
    tick: number,
    readonly inst: number,
    readonly user: number,
    readonly kind: ClaimsChangeKind,
    readonly refresh: boolean,
  ) {
    super(tick);
  }
  override check(m: Readonly<World>): boolean {
    if (!super.check(m)) return false;
    const banned = m.table.users.get(m.sub(this.user))?.banned === true;
    return this.kind === 'ban' ? !banned : this.kind === 'unban' ? banned : true;
  }
  async step(w: World): Promise<void> {
    const sub = w.sub(this.user);
    const what = this.toString();
    const row = w.table.row(sub);
    if (this.kind === 'change') row.ver++;
    else row.banned = this.kind === 'ban';
    if (!row.banned) w.banSince.delete(sub);
    if (!this.refresh) return;
    const calls = w.table.calls;
    const result = await w.instances[this.inst]!.auth.refreshClaims(sub).then(
      (at) => at.getTime(),
      (e: unknown) => e,
    );
    w.expectLoads(what, calls, 0);
    if (w.down) {
      assert.equal(code(result), 'revocation_unavailable', `${what}: must fail closed`);
      return;
    }
    assert.equal(result, w.nowAt(this.inst), `${what}: the claims change`);
    w.claimsChanged.set(sub, Math.max(w.claimsChanged.get(sub) ?? -Infinity, w.nowAt(this.inst)));
    const refresh: Refresh = { sub, t: w.clock.t, seq: w.seq, ver: row.ver };
    w.refreshes.push(refresh);
    if (row.banned && !w.banSince.has(sub)) w.banSince.set(sub, refresh);
    await w.expectClaimsChange(what, sub);
  }
  toString(): string {
    const change = { change: 'new claims for', ban: 'ban', unban: 'lift the ban of' }[this.kind];
    const then = this.refresh ? `then auth.refreshClaims(i${this.inst})` : 'no refreshClaims';
    return `${change} u${this.user}, ${then} (+${this.tick}ms)`;
  }
}

/** The app's user table becomes unreachable for `loadClaims` (it throws), answers bad claims, or recovers. */
class ClaimsSource extends Step {
  constructor(
    tick: number,
    readonly mode: ClaimsTable['mode'],
  ) {
    super(tick);
  }
  override check(m: Readonly<World>): boolean {
    return super.check(m) && m.table.mode !== this.mode;
  }
  step(w: World): Promise<void> {
    w.table.mode = this.mode;
    return Promise.resolve();
  }
  toString(): string {
    const state = { ok: 'answers again', throws: 'throws', invalid: 'answers claims the schema refuses' }[this.mode];
    return `loadClaims ${state} (+${this.tick}ms)`;
  }
}

class Rotate extends Step {
  constructor(
    tick: number,
    readonly inst: number,
  ) {
    super(tick);
  }
  override check(m: Readonly<World>): boolean {
    return super.check(m) && (m.generations[this.inst] as number) < MAX_GENERATION;
  }
  async step(w: World): Promise<void> {
    await w.rebuild(this.inst);
  }
  toString(): string {
    return `rotate keys of i${this.inst} (deploy with keys: [new, old], +${this.tick}ms)`;
  }
}

class Outage extends Step {
  constructor(
    tick: number,
    readonly down: boolean,
  ) {
    super(tick);
  }
  override check(m: Readonly<World>): boolean {
    return super.check(m) && m.down !== this.down;
  }
  step(w: World): Promise<void> {
    w.down = this.down;
    w.store.down = this.down;
    return Promise.resolve();
  }
  toString(): string {
    return `${this.down ? 'store goes down' : 'store comes back'} (+${this.tick}ms)`;
  }
}

class Advance extends Step {
  toString(): string {
    return `time passes ${this.tick} ms`;
  }
  step(): Promise<void> {
    return Promise.resolve();
  }
}

export function commandArbitraries(options: ModelOptions) {
  const tick = fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }) },
  );
  const inst = fc.nat(INSTANCES - 1);
  const user = fc.nat(USERS - 1);
  const dev = fc.nat(DEVICES - 1);
  const target: fc.Arbitrary<Target> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('device' as const), user, dev }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('copy' as const), k: fc.nat(60) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  );
  const route = fc.constantFrom<Route>('me', 'me', 'public', 'sensitive');
  const jump = fc.constantFrom(...options.jumps);
  const login = fc.tuple(tick, inst, user, dev).map(([t, i, u, d]) => new Login(t, i, u, d));
  const claimsChange = fc
    .tuple(
      tick,
      inst,
      user,
      fc.constantFrom<ClaimsChangeKind>('change', 'change', 'ban', 'unban'),
      fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    )
    .map(([t, i, u, k, r]) => new ChangeClaims(t, i, u, k, r));
  return [
    login,
    login,
    login,
    fc.tuple(tick, inst, target, route).map(([t, i, x, r]) => new Request(t, i, x, r)),
    fc.tuple(tick, inst, target, route).map(([t, i, x, r]) => new Request(t, i, x, r)),
    fc.tuple(tick, inst, target, route).map(([t, i, x, r]) => new Request(t, i, x, r)),
    fc.tuple(tick, inst, target, route).map(([t, i, x, r]) => new Request(t, i, x, r)),
    fc.tuple(tick, inst, target).map(([t, i, x]) => new Logout(t, i, x)),
    fc.tuple(tick, inst, target).map(([t, i, x]) => new LogoutAll(t, i, x)),
    fc.tuple(tick, inst, target).map(([t, i, x]) => new RevokeOthers(t, i, x)),
    fc.tuple(tick, inst, target).map(([t, i, x]) => new Reauth(t, i, x)),
    fc.tuple(tick, inst, user).map(([t, i, u]) => new RevokeUser(t, i, u)),
    fc.tuple(tick, inst, fc.nat(20)).map(([t, i, p]) => new RevokeSession(t, i, p)),
    fc.tuple(tick, inst, user).map(([t, i, u]) => new ListSessions(t, i, u)),
    fc.tuple(tick, inst).map(([t, i]) => new Rotate(t, i)),
    claimsChange,
    claimsChange,
    claimsChange,
    fc
      .tuple(tick, fc.constantFrom<ClaimsTable['mode']>('ok', 'ok', 'throws', 'invalid'))
      .map(([t, m]) => new ClaimsSource(t, m)),
    fc.tuple(tick, fc.boolean()).map(([t, d]) => new Outage(t, d)),
    jump.map((ms) => new Advance(ms)),
    jump.map((ms) => new Advance(ms)),
  ];
}

export interface RunResult {
  runs: number;
  ms: number;
}

/** Runs `runs` random histories (or replays `seed`/`path`); throws with the shrunk history and the seed. */
export async function runModel(options: ModelOptions, runs: number, seed?: number, path?: string): Promise<RunResult> {
  const started = performance.now();
  const offsets = fc.array(
    fc.integer({ min: -40, max: 40 }).map((x) => x),
    { minLength: INSTANCES, maxLength: INSTANCES },
  );
  const property = fc.asyncProperty(
    offsets,
    fc.commands(commandArbitraries(options), { maxCommands: 60, size: 'max' }),
    async (offs, cmds) => {
      const world = new World(options, offs);
      try {
        await Promise.all(world.instances.map((i) => i.auth.ready));
        await fc.asyncModelRun(() => ({ model: world, real: world }), cmds);
      } finally {
        world.store.down = false;
        await world.store.settle();
        retire(world.instances);
        await world.closeStore?.();
      }
    },
  );
  const result = await fc
    .check(property, {
      numRuns: runs,
      ...(seed === undefined ? {} : { seed }),
      ...(path === undefined ? {} : { path }),
    })
    .finally(closeSharedServer);
  if (result.failed) {
    const [offs, cmds] = result.counterexample ?? [];
    const error = result.errorInstance;
    throw new Error(
      [
        `model-based test on ${options.storeName} failed after ${result.numRuns} histories (${result.numShrinks} shrinks).`,
        `Replay: MODEL_SEED=${result.seed} MODEL_PATH=${result.counterexamplePath ?? ''} npm run test:model -- ${{ memory: 'model.test', MongoRevocationStore: 'model-mongo.test', 'MongoRevocationStore (atomicUpdates)': 'model-mongo-atomic.test', RedisRevocationStore: 'model-redis.test' }[options.storeName] ?? ''} (the seed alone re-runs the same histories)`,
        `Instance clock offsets (ms): ${JSON.stringify(offs)}`,
        `Shrunk history: ${(cmds as { toString(): string } | undefined)?.toString() ?? ''}`,
        `Failure: ${error instanceof Error ? error.message : String(error)}`,
      ].join('\n'),
    );
  }
  return { runs: result.numRuns, ms: performance.now() - started };
}
