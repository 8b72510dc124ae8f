// The revocation data model in memory, shared by MemoryRevocationStore and the bounded-delay copy: each user's
// watermark and claims change and each revoked session, merged by taking the later date, forgotten once they
// stop mattering. Laid out flat (typed arrays, open addressing) so that a million entries are a few arrays for the
// garbage collector, not millions of objects.
import { randomBytes } from 'node:crypto';
import { IdArena } from './id-arena.js';
import type { FeedChange, RevocationState } from './revocation-store.js';

const NOT_REVOKED: RevocationState = Object.freeze({ lastLogoutAt: null, sessionRevoked: false });

/** What an entry is: its kind is part of its key. */
const USER = 1;
const SESSION = 2;
const CLAIMS = 3;
type Kind = typeof USER | typeof SESSION | typeof CLAIMS;

/** The table grows (doubles) past this share of used slots: linear probing stays short below it. */
const MAX_LOAD = 0.7;
const INITIAL_SLOTS = 1024;
/** Mixed in between the user and the session id: no UTF-16 code unit has this value. */
const SEPARATOR = 0x10000;

export interface RevocationMapOptions {
  /**
   * `'exact'` keeps the ids (a store of record: its feed must return them) and matches entries by id. `'hashed'`
   * keeps a 64-bit hash of each id instead: two ids with the same hash share one entry, merged by the later date,
   * so a collision can only make a session look revoked (or its claims changed), never the reverse.
   */
  keys: 'exact' | 'hashed';
  /** TESTS ONLY: keep this many bits of the hash (at most 32 + 32), to make collisions happen. */
  hashBits?: number;
}

/**
 * One table: slot `i` holds an entry of kind `kinds[i]` (0: empty) whose key hashes to `(hashLo[i], hashHi[i])`,
 * the time `at[i]` (ms: a watermark or a claims change; unused for a session) and the end `until[i]` (ms). With exact keys, the ids are kept in an `IdArena`, from `idAt[i]`, `subLength[i]` and `sidLength[i]` units long: the
 * ids. A slot's entry sits at its hash's slot or after it, with no empty slot between (linear probing).
 */
export class RevocationMap {
  readonly #loMask: number;
  readonly #hiMask: number;
  #mask = INITIAL_SLOTS - 1;
  #kinds = new Uint8Array(INITIAL_SLOTS);
  #hashLo = new Uint32Array(INITIAL_SLOTS);
  #hashHi = new Uint32Array(INITIAL_SLOTS);
  #at = new Float64Array(INITIAL_SLOTS);
  #until = new Float64Array(INITIAL_SLOTS);
  readonly #ids: IdArena | undefined;
  #idAt = new Uint32Array(0);
  #subLength = new Uint32Array(0);
  #sidLength = new Uint32Array(0);
  /** Entries held, by kind (index: the kind). */
  readonly #counts = [0, 0, 0, 0];
  /**
   * Changes whenever entries move between slots (the table grew, or a deletion shifted entries back): a page of
   * `changes` that began before then starts over.
   */
  #generation = 0;
  /**
   * Random per table: ids chosen to collide (to make another user's session look revoked, or to make lookups slow)
   * cannot be computed without them.
   */
  readonly #seedA = randomBytes(4).readUInt32LE(0);
  readonly #seedB = randomBytes(4).readUInt32LE(0);
  /** The hash of the latest key, as two 32-bit halves (set by `#hash`). */
  #lo = 0;
  #hi = 0;

  constructor(options: RevocationMapOptions) {
    const bits = options.hashBits ?? 64;
    this.#loMask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
    this.#hiMask = bits >= 64 ? 0xffffffff : bits <= 32 ? 0 : 2 ** (bits - 32) - 1;
    if (options.keys === 'exact') {
      this.#ids = new IdArena();
      this.#allocate(INITIAL_SLOTS);
    }
  }

  /** Watermarks, revoked sessions and claims changes held. */
  get size(): number {
    return this.#counts[USER]! + this.#counts[SESSION]! + this.#counts[CLAIMS]!;
  }

  /** Counts apart, for tests of the bounds. */
  get sizes(): { users: number; sessions: number; claims: number } {
    return { users: this.#counts[USER]!, sessions: this.#counts[SESSION]!, claims: this.#counts[CLAIMS]! };
  }

  /** Bytes the table's arrays take (the ids kept by exact keys not counted). */
  get bytes(): number {
    const slots = this.#mask + 1;
    return slots * (1 + 4 + 4 + 8 + 8) + (this.#ids === undefined ? 0 : slots * 12 + this.#ids.bytes);
  }

  hasUser(sub: string): boolean {
    return this.#find(USER, sub, '') >= 0;
  }

  hasClaims(sub: string): boolean {
    return this.#find(CLAIMS, sub, '') >= 0;
  }

  hasSession(sub: string, sessionId: string): boolean {
    return this.#find(SESSION, sub, sessionId) >= 0;
  }

  /** Raises a user's watermark and how long it matters (never lowers either). */
  raiseUser(sub: string, at: number, until: number): void {
    this.#raise(USER, sub, '', at, until);
  }

  /** Raises a user's claims change and how long it matters (never lowers either). */
  raiseClaims(sub: string, at: number, until: number): void {
    this.#raise(CLAIMS, sub, '', at, until);
  }

  /** Extends a revoked session's entry (never shortens it). */
  extendSession(sub: string, sessionId: string, until: number): void {
    this.#raise(SESSION, sub, sessionId, 0, until);
  }

  /** What a check needs at `now`: entries past their end count as absent. */
  state(sub: string, sessionId: string, now: number): RevocationState {
    if (this.size === 0) return NOT_REVOKED;
    this.#hash(sub, ''); // the user's key, for the watermark and the claims change
    const user = this.#counts[USER] === 0 ? -1 : this.#probe(USER, sub, '');
    const claims = this.#counts[CLAIMS] === 0 ? -1 : this.#probe(CLAIMS, sub, '');
    const session = sessionId === '' || this.#counts[SESSION] === 0 ? -1 : this.#find(SESSION, sub, sessionId);
    if (user < 0 && session < 0 && claims < 0) return NOT_REVOKED;
    const lastLogoutAt = this.#live(user, now) ? new Date(this.#at[user]!) : null;
    const sessionRevoked = this.#live(session, now);
    if (claims < 0) return { lastLogoutAt, sessionRevoked };
    return {
      lastLogoutAt,
      sessionRevoked,
      claimsChangedAt: this.#live(claims, now) ? new Date(this.#at[claims]!) : null,
    };
  }

  /** The user's watermark at `now` (ms), or undefined. */
  watermark(sub: string, now: number): number | undefined {
    const user = this.#find(USER, sub, '');
    return this.#live(user, now) ? this.#at[user] : undefined;
  }

  /**
   * Entries that still matter at `now`, as feed changes (exact keys only), from slot `from` on: at most `limit`,
   * and where the next page begins (undefined: none). A page begun before entries moved (`generation`) must start
   * over from slot 0: it may repeat entries, never skip one.
   */
  changes(now: number, limit: number, from = 0): { changes: FeedChange[]; next: number | undefined } {
    const ids = this.#ids;
    if (ids === undefined) throw new Error('a hashed RevocationMap keeps no ids');
    const changes: FeedChange[] = [];
    const slots = this.#mask + 1;
    for (let i = from; i < slots; i++) {
      if (changes.length >= limit) return { changes, next: i };
      const kind = this.#kinds[i]!;
      if (kind === 0 || !this.#live(i, now)) continue;
      const sub = ids.text(this.#idAt[i]!, this.#subLength[i]!);
      const until = new Date(this.#until[i]!);
      if (kind === USER)
        changes.push({ kind: 'user', sub, lastLogoutAt: new Date(this.#at[i]!), relevantUntil: until });
      else if (kind === CLAIMS)
        changes.push({ kind: 'claims', sub, changedAt: new Date(this.#at[i]!), relevantUntil: until });
      else {
        const sessionId = ids.text(this.#idAt[i]! + this.#subLength[i]!, this.#sidLength[i]!);
        changes.push({ kind: 'session', sub, sessionId, expiresAt: until });
      }
    }
    return { changes, next: undefined };
  }

  /** Changes when entries move between slots: see `changes`. */
  get generation(): number {
    return this.#generation;
  }

  /** Drops what no longer matters at `now`. */
  prune(now: number): void {
    const slots = this.#mask + 1;
    for (let i = 0; i < slots; i++) {
      // A deletion may shift a later entry into slot i: look at it again.
      while (this.#kinds[i] !== 0 && !this.#live(i, now)) this.#delete(i);
    }
    this.#compactIds();
  }

  clear(): void {
    if (this.#ids !== undefined) this.#ids.compact(() => undefined);
    this.#allocate(INITIAL_SLOTS);
    this.#counts.fill(0);
    this.#generation++;
  }

  /** Whether slot `i` (-1: none) holds an entry that still matters at `now`. */
  #live(i: number, now: number): boolean {
    return i >= 0 && this.#until[i]! > now;
  }

  /**
   * Hashes the key of (`sub`, `sessionId`) into `#lo`, `#hi`: FNV-1a and a multiply-xorshift, each from a random
   * seed and finalized.
   */
  #hash(sub: string, sessionId: string): void {
    let a = this.#seedA;
    let b = this.#seedB;
    for (let i = 0; i < sub.length; i++) {
      const c = sub.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    if (sessionId !== '') {
      a = Math.imul(a ^ SEPARATOR, 0x01000193);
      b = Math.imul(b ^ SEPARATOR, 0x5bd1e995);
      for (let i = 0; i < sessionId.length; i++) {
        const c = sessionId.charCodeAt(i);
        a = Math.imul(a ^ c, 0x01000193);
        b = Math.imul(b ^ c, 0x5bd1e995);
        b ^= b >>> 15;
      }
    }
    this.#lo = (finalize(a) & this.#loMask) >>> 0;
    this.#hi = (finalize(b ^ sub.length) & this.#hiMask) >>> 0;
  }

  /** The slot holding the entry of this kind and key, or -1. */
  #find(kind: Kind, sub: string, sessionId: string): number {
    this.#hash(sub, sessionId);
    return this.#probe(kind, sub, sessionId);
  }

  /** `#find` for the key just hashed. */
  #probe(kind: Kind, sub: string, sessionId: string): number {
    const mask = this.#mask;
    for (let i = this.#lo & mask; ; i = (i + 1) & mask) {
      const k = this.#kinds[i]!;
      if (k === 0) return -1;
      if (
        k === kind &&
        this.#hashLo[i] === this.#lo &&
        this.#hashHi[i] === this.#hi &&
        this.#sameIds(i, sub, sessionId)
      )
        return i;
    }
  }

  #sameIds(i: number, sub: string, sessionId: string): boolean {
    return (
      this.#ids === undefined ||
      (this.#subLength[i] === sub.length &&
        this.#sidLength[i] === sessionId.length &&
        this.#ids.equals(this.#idAt[i]!, sub, sessionId))
    );
  }

  /** Raises the entry's time and end to at least `at` and `until` (ms), adding it when missing. */
  #raise(kind: Kind, sub: string, sessionId: string, at: number, until: number): void {
    this.#hash(sub, sessionId);
    let i = this.#probe(kind, sub, sessionId);
    if (i < 0) {
      if (this.size + 1 > (this.#mask + 1) * MAX_LOAD) {
        this.#grow();
        this.#hash(sub, sessionId);
      }
      i = this.#emptySlot(this.#lo);
      this.#kinds[i] = kind;
      this.#hashLo[i] = this.#lo;
      this.#hashHi[i] = this.#hi;
      this.#at[i] = at;
      this.#until[i] = until;
      if (this.#ids !== undefined) {
        this.#idAt[i] = this.#ids.add(sub, sessionId);
        this.#subLength[i] = sub.length;
        this.#sidLength[i] = sessionId.length;
      }
      this.#counts[kind]!++;
      return;
    }
    if (this.#at[i]! < at) this.#at[i] = at;
    if (this.#until[i]! < until) this.#until[i] = until;
  }

  /** The first empty slot from `lo`'s on. */
  #emptySlot(lo: number): number {
    const mask = this.#mask;
    let i = lo & mask;
    while (this.#kinds[i] !== 0) i = (i + 1) & mask;
    return i;
  }

  /** Twice the slots: every entry moves to its place in the larger table. */
  #grow(): void {
    const old = this.#columns();
    this.#allocate(old.kinds.length * 2);
    for (let j = 0; j < old.kinds.length; j++) {
      if (old.kinds[j] !== 0) this.#copy(this.#emptySlot(old.hashLo[j]!), old, j);
    }
    this.#generation++;
  }

  #allocate(slots: number): void {
    this.#mask = slots - 1;
    this.#kinds = new Uint8Array(slots);
    this.#hashLo = new Uint32Array(slots);
    this.#hashHi = new Uint32Array(slots);
    this.#at = new Float64Array(slots);
    this.#until = new Float64Array(slots);
    if (this.#ids !== undefined) {
      this.#idAt = new Uint32Array(slots);
      this.#subLength = new Uint32Array(slots);
      this.#sidLength = new Uint32Array(slots);
    }
  }

  /** The arrays of the table as they are now. */
  #columns(): Columns {
    return {
      kinds: this.#kinds,
      hashLo: this.#hashLo,
      hashHi: this.#hashHi,
      at: this.#at,
      until: this.#until,
      idAt: this.#idAt,
      subLength: this.#subLength,
      sidLength: this.#sidLength,
    };
  }

  /** Copies slot `j` of `from` (these arrays, or those before a growth) into slot `i`. */
  #copy(i: number, from: Columns, j: number): void {
    this.#kinds[i] = from.kinds[j]!;
    this.#hashLo[i] = from.hashLo[j]!;
    this.#hashHi[i] = from.hashHi[j]!;
    this.#at[i] = from.at[j]!;
    this.#until[i] = from.until[j]!;
    if (this.#ids !== undefined) {
      this.#idAt[i] = from.idAt[j]!;
      this.#subLength[i] = from.subLength[j]!;
      this.#sidLength[i] = from.sidLength[j]!;
    }
  }

  /**
   * Empties slot `i`, then moves back each following entry (up to the next empty slot) that may not stay behind
   * the hole: one whose own slot is not cyclically within (`i`, its slot]. No tombstones.
   */
  #delete(i: number): void {
    const mask = this.#mask;
    this.#counts[this.#kinds[i]!]!--;
    this.#ids?.release(this.#subLength[i]!, this.#sidLength[i]!);
    const columns = this.#columns();
    let hole = i;
    for (let j = (i + 1) & mask; this.#kinds[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hashLo[j]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.#copy(hole, columns, j);
      hole = j;
      this.#generation++;
    }
    this.#kinds[hole] = 0;
  }

  /** Once most of the ids' array is ids no longer held: a new one with only those held (slots do not move). */
  #compactIds(): void {
    const ids = this.#ids;
    if (ids?.wasteful !== true) return;
    ids.compact((move) => {
      for (let i = 0; i <= this.#mask; i++) {
        if (this.#kinds[i] !== 0) this.#idAt[i] = move(this.#idAt[i]!, this.#subLength[i]! + this.#sidLength[i]!);
      }
    });
  }
}

/** The arrays of a table, one element per slot. */
interface Columns {
  kinds: Uint8Array;
  hashLo: Uint32Array;
  hashHi: Uint32Array;
  at: Float64Array;
  until: Float64Array;
  idAt: Uint32Array;
  subLength: Uint32Array;
  sidLength: Uint32Array;
}

/** MurmurHash3's 32-bit finalizer: every input bit reaches every output bit (a bijection: no new collisions). */
function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
