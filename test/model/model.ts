// Model-based test of the session contract: random histories of sign-ins, requests, time passing, renewals,
// logouts, revocations, session caps, fresh-auth checks, key rotation, clock skew and store outages, run against
// several app instances over HTTP that share one store. A small reference model says what every request must
// answer; fast-check shrinks any difference to a short history and prints the seed to replay it.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildInstance,
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

  constructor(
    readonly options: ModelOptions,
    readonly offsets: number[],
  ) {
    this.clock = new Clock((Math.ceil(Date.now() / 1000) + 60) * 1000);
    const made = options.makeStore(this.clock);
    this.store = new SwitchStore(made.inner, this.clock);
    this.closeStore = made.close;
    this.generations = offsets.map(() => 0);
    for (let i = 0; i < offsets.length; i++) this.instances.push(this.#build(i));
  }

  #build(i: number): Instance {
    return buildInstance(
      this.store,
      this.clock,
      this.options.life,
      this.offsets[i] as number,
      this.generations[i] as number,
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
    return { sub: token.sub, sid: token.sid, kid, iatMs: now, exp, sat: token.sat, sxp: token.sxp, pwd };
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
    };
    assert.deepEqual(
      actual,
      { ...expected },
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
const STATUS: Record<string, number> = { revocation_unavailable: 503, csrf_rejected: 403 };
const statusOf = (c: string | undefined) => (c === undefined ? 200 : (STATUS[c] ?? 401));
/** Whether `authenticate` expires the cookie for this rejection. */
const clears = (c: string | undefined) =>
  c !== undefined &&
  c !== 'credentials_required' &&
  c !== 'revocation_unavailable' &&
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
    if (m.down) return true;
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
    const got = await send(w.instances[this.inst]!, 'post', '/login', undefined, { sub });
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
    const rejection = w.rejection(token, this.inst);
    const renewed = rejection === undefined && token !== undefined ? w.renewal(token, this.inst) : undefined;
    const got = await send(w.instances[this.inst]!, 'get', `/${this.route}`, token?.jwt);
    let expectedCode = rejection;
    if (this.route === 'public') {
      w.expectAnswer(what, got, 200, undefined);
      assert.equal(got.body.sub, rejection === undefined ? token?.sub : null, `${what}: req.auth on a public route`);
      expectedCode = undefined;
    } else if (
      this.route === 'sensitive' &&
      rejection === undefined &&
      token !== undefined &&
      w.nowAt(this.inst) - token.pwd > w.options.life.fresh * 1000
    ) {
      expectedCode = 'reauthentication_required';
    }
    if (this.route !== 'public') w.expectAnswer(what, got, statusOf(expectedCode), expectedCode);
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
    // The app-wide `authenticate` runs first (it may renew or expire the cookie), then `logout`.
    const rejection = w.rejection(token, this.inst);
    const renewed = rejection === undefined && token !== undefined ? w.renewal(token, this.inst) : undefined;
    const got = await send(w.instances[this.inst]!, 'post', '/logout', token?.jwt);
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
    const rejection = w.rejection(token, this.inst);
    if (rejection === undefined && token !== undefined) w.renewal(token, this.inst); // then expired at once
    const got = await send(w.instances[this.inst]!, 'post', '/logout-all', token?.jwt);
    w.expectAnswer(what, got, rejection === undefined ? 204 : statusOf(rejection), rejection);
    if (rejection === undefined && token !== undefined) {
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
    const rejection = w.rejection(token, this.inst);
    const renewed = rejection === undefined && token !== undefined ? w.renewal(token, this.inst) : undefined;
    const got = await send(w.instances[this.inst]!, 'post', '/revoke-others', token?.jwt);
    w.expectAnswer(what, got, rejection === undefined ? 204 : statusOf(rejection), rejection);
    if (rejection === undefined && token !== undefined) {
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
    const rejection = w.rejection(token, this.inst);
    const got = await send(w.instances[this.inst]!, 'post', '/reauth', token?.jwt);
    if (rejection !== undefined || token === undefined) {
      w.expectAnswer(what, got, statusOf(rejection), rejection);
      w.keep(this.target, w.expectCookie(what, got, clears(rejection) ? null : undefined));
      return;
    }
    const renewed = w.renewal(token, this.inst);
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
